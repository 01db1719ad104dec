"""SpokeStack: deployed in a spoke account; the hub cluster's provider and the federated roles."""

from __future__ import annotations

import hashlib

import aws_cdk as cdk
from constructs import Construct

from oidc_federation.config import FederationConfig
from oidc_federation.spoke_federation import SpokeFederation
from oidc_federation.thumbprint.lookup import ThumbprintLookup


class SpokeStack(cdk.Stack):
    """The spoke side of one federation, as a template that needs no bootstrap.

    BootstraplessSynthesizer: no ``BootstrapVersion`` parameter or rule, and any asset added by
    mistake fails the synth (a StackSet target account cannot read another account's bucket).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: FederationConfig, **kwargs) -> None:
        spoke = config.spoke
        env = None
        if spoke.account_id or spoke.region:
            env = cdk.Environment(account=spoke.account_id, region=spoke.region)
        super().__init__(
            scope, construct_id,
            env=env,
            synthesizer=cdk.BootstraplessSynthesizer(),
            analytics_reporting=False,
            description=f"OIDC federation of {config.hub.issuer_url} (hub account {config.hub.account_id}) into this account",
            **kwargs,
        )
        thumbprints = list(config.thumbprint.values) if config.thumbprint.source == "static" else []
        client_ids_token = None
        self.lookup: ThumbprintLookup | None = None
        if config.thumbprint.looked_up and spoke.provider.mode != "existing":
            self.lookup = ThumbprintLookup(
                self, "ThumbprintLookup",
                mode=config.thumbprint.source,
                issuer_url=config.hub.issuer_url,
                hub_account_id=config.hub.account_id,
                hub_lookup_role_name=config.thumbprint.hub_lookup_role,
                revision=config.thumbprint.lookup_revision,
                required_client_ids=([role.audience for role in spoke.roles]
                                     if spoke.provider.mirror_hub_client_ids else ()),
            )
            thumbprints = self.lookup.thumbprints
            if spoke.provider.mirror_hub_client_ids:
                client_ids_token = self.lookup.client_ids
        self.federation = SpokeFederation(
            self, "Federation",
            issuer_url=config.hub.issuer_url,
            client_ids=spoke.provider.client_ids,
            thumbprints=thumbprints,
            provider_mode=spoke.provider.mode,
            roles=spoke.roles,
            client_ids_token=client_ids_token,
        )
        cdk.CfnOutput(self, "ProviderArn", value=self.federation.provider_arn,
                      description="ARN of the OIDC provider for the hub cluster's issuer in this account")
        cdk.CfnOutput(self, "Issuer", value=config.hub.issuer_url,
                      description="The hub cluster's service-account issuer this account trusts")
        taken: set[str] = set()
        for name, role in self.federation.roles.items():
            key = output_key_for_role(name, taken)
            taken.add(key)
            cdk.CfnOutput(self, key, value=role.role_arn,
                          description=f"ARN of role {name}: annotate its service accounts with eks.amazonaws.com/role-arn")


def output_key_for_role(name: str, taken: set[str] = frozenset()) -> str:
    """``RoleArn<Name>`` (outputs allow only letters and digits); a short hash of the name is
    appended only where two role names differ just in punctuation or case."""
    key = "RoleArn" + "".join(part[:1].upper() + part[1:] for part in
                              "".join(c if c.isalnum() else " " for c in name).split())
    if key in taken:
        key += hashlib.sha256(name.encode()).hexdigest()[:8]
    return key
