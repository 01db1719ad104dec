"""HubStack: deployed in the hub account; the role spoke stacks assume to read the thumbprint."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct

from oidc_federation.synthesizer import NoBootstrapSynthesizer
from oidc_federation.config import FederationConfig
from oidc_federation.hub_lookup_role import HubLookupRole


class HubStack(cdk.Stack):
    """Only for ``thumbprint.source: hub``. Needs no bootstrap (no assets)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: FederationConfig, **kwargs) -> None:
        super().__init__(
            scope, construct_id,
            env=cdk.Environment(account=config.hub.account_id, region=config.spoke.region),
            synthesizer=NoBootstrapSynthesizer(),
            analytics_reporting=False,
            description=f"Read-only thumbprint lookup role for {config.hub.issuer_url}, assumed by spoke stacks",
            **kwargs,
        )
        access = config.hub.lookup_access
        self.lookup = HubLookupRole(
            self, "ThumbprintLookup",
            issuer_url=config.hub.issuer_url,
            role_name=config.thumbprint.hub_lookup_role,
            spoke_account_ids=access.spoke_account_ids,
            organization_id=access.organization_id,
        )
        cdk.CfnOutput(self, "LookupRoleArn", value=self.lookup.role_arn,
                      description="The role spoke stacks assume to read the hub provider's thumbprint")
        cdk.CfnOutput(self, "TrustedCallerRoleName", value=self.lookup.caller_role_name,
                      description="The spoke lookup function's role name this role trusts")
        cdk.CfnOutput(self, "HubProviderArn", value=self.lookup.provider_arn,
                      description="The hub provider the role may read")
