"""SpokeStack: deployed in a spoke account; the hub cluster's provider and the federated roles."""

from __future__ import annotations

import hashlib

import aws_cdk as cdk
from constructs import Construct

from oidc_federation.synthesizer import NoBootstrapSynthesizer
from oidc_federation.config import FederationConfig
from oidc_federation.names import pascal_case
from oidc_federation.spoke_federation import SpokeFederation
from oidc_federation.thumbprint.lookup import FederationFunction, ThumbprintLookup


class SpokeStack(cdk.Stack):
    """The spoke side of one federation, as a template that needs no bootstrap.

    NoBootstrapSynthesizer: no ``BootstrapVersion`` parameter or rule, no bootstrap roles in the
    cloud assembly, and any asset added by mistake fails the synth (a StackSet target account
    cannot read another account's bucket).
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: FederationConfig, **kwargs) -> None:
        spoke = config.spoke
        env = None
        if spoke.account_id or spoke.region:
            env = cdk.Environment(account=spoke.account_id, region=spoke.region)
        super().__init__(
            scope, construct_id,
            env=env,
            # A bootstrapped spoke account may take templates over the CLI's 50 KiB inline limit.
            synthesizer=cdk.DefaultStackSynthesizer() if spoke.bootstrapped else NoBootstrapSynthesizer(),
            analytics_reporting=False,
            description=f"OIDC federation of {config.hub.issuer_url} (hub account {config.hub.account_id}) into this account",
            **kwargs,
        )
        # A StackSet template carries per-account values as parameters (defaults from the config),
        # so one account can override them; the trust policy's condition keys stay literal.
        parameterized = config.stackset is not None
        role_names = {role.name: self._role_name_parameter(role.name) for role in spoke.roles} if parameterized else None

        thumbprints = list(config.thumbprint.values) if config.thumbprint.source == "static" else []
        client_ids_token = None
        looked_up = config.thumbprint.looked_up and spoke.provider.mode != "existing"
        self.function: FederationFunction | None = None
        if looked_up or spoke.provider.mode == "adopt":
            self.function = FederationFunction(self, "DeployHelper", issuer_url=config.hub.issuer_url)
        self.lookup: ThumbprintLookup | None = None
        if looked_up:
            hub_role_name = config.thumbprint.hub_lookup_role
            if parameterized and config.thumbprint.source == "hub":
                hub_role_name = cdk.CfnParameter(
                    self, "HubLookupRoleName", type="String", default=hub_role_name,
                    allowed_pattern=r"[\w+=,.@-]{1,64}",
                    description=f"The thumbprint lookup role HubStack created in hub account {config.hub.account_id}").value_as_string
            self.lookup = ThumbprintLookup(
                self, "ThumbprintLookup",
                function=self.function,
                mode=config.thumbprint.source,
                issuer_url=config.hub.issuer_url,
                hub_account_id=config.hub.account_id,
                hub_lookup_role_arn=cdk.Fn.sub(
                    "arn:${AWS::Partition}:iam::" + config.hub.account_id + ":role/${Name}", {"Name": hub_role_name})
                if cdk.Token.is_unresolved(hub_role_name) else
                cdk.Fn.sub(f"arn:${{AWS::Partition}}:iam::{config.hub.account_id}:role/{hub_role_name}"),
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
            provider_function=self.function,
            role_names=role_names,
            retain_provider=spoke.provider.retain_on_delete,
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


    def _role_name_parameter(self, name: str) -> str:
        """A ``RoleName<Name>`` parameter defaulting to ``name``; returns its value token."""
        logical_id = "RoleName" + pascal_case(name)
        if self.node.try_find_child(logical_id) is not None:
            logical_id += hashlib.sha256(name.encode()).hexdigest()[:8]
        return cdk.CfnParameter(
            self, logical_id, type="String", default=name, allowed_pattern=r"[\w+=,.@-]{1,64}",
            description=f"Name of the role configured as {name} (override per account if needed)").value_as_string


def output_key_for_role(name: str, taken: set[str] = frozenset()) -> str:
    """``RoleArn<Name>`` (outputs allow only letters and digits); a short hash of the name is
    appended only where two role names differ just in punctuation or case."""
    key = "RoleArn" + pascal_case(name)
    if key in taken:
        key += hashlib.sha256(name.encode()).hexdigest()[:8]
    return key
