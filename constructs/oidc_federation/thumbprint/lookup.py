"""The spoke's deploy-time helper function and the custom resources it serves.

``FederationFunction`` is one Lambda function whose code is ``handler.py`` beside this file, read at
synth time and inlined as the function's ``ZipFile`` (handler ``index.handler``): no asset, so the
template deploys without a bootstrap and inside StackSets. It backs:

- ``ThumbprintLookup`` (``Custom::OidcThumbprintLookup``): the thumbprint(s) for the issuer, found
  at deploy time in the hub account's provider or from the issuer's TLS chain;
- ``AdoptedProvider`` (``Custom::OidcProvider``): the account's provider for the issuer, adopted
  where one exists and created (and later deleted) only where none does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import validation as v
from ..names import lookup_caller_role_name

HANDLER_FILE = Path(__file__).with_name("handler.py")
LOOKUP_RESOURCE_TYPE = "Custom::OidcThumbprintLookup"
PROVIDER_RESOURCE_TYPE = "Custom::OidcProvider"
FUNCTION_TIMEOUT = cdk.Duration.seconds(60)
# CASES.md 9: even if the function never answered, CloudFormation gives up after this instead of
# the default hour. The handler itself answers well before its own timeout.
CUSTOM_RESOURCE_TIMEOUT = cdk.Duration.seconds(300)
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS


def handler_source() -> str:
    """The handler module's text, exactly as inlined."""
    return HANDLER_FILE.read_text(encoding="utf-8")


def newest_python_runtime() -> lambda_.Runtime:
    """The newest ``PYTHON_3_x`` runtime this aws-cdk-lib release knows."""
    versions = [(int(m.group(1)), name) for name in dir(lambda_.Runtime)
                if (m := re.fullmatch(r"PYTHON_3_(\d+)", name))]
    return getattr(lambda_.Runtime, max(versions)[1])


class FederationFunction(Construct):
    """The Lambda function behind the spoke's custom resources, with its own role and log group.

    The role starts with only its own log group; ``allow_hub_lookup`` and
    ``allow_provider_management`` add exactly what each custom resource needs. It is named
    ``lookup_caller_role_name(issuer_url)``, the name HubStack trusts.
    """

    def __init__(self, scope: Construct, construct_id: str, *, issuer_url: str) -> None:
        super().__init__(scope, construct_id)
        issuer_url = v.prop("issuer_url", v.issuer, issuer_url)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY)
        self.role = iam.Role(
            self, "Role",
            role_name=lookup_caller_role_name(issuer_url),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Deploy-time helper for the OIDC federation of {issuer_url} (custom resource function)",
        )
        # Its own log group only; no AWSLambdaBasicExecutionRole (logs:* on every group).
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn]))
        self.function = lambda_.Function(
            self, "Function",
            runtime=newest_python_runtime(),
            handler="index.handler",
            code=lambda_.Code.from_inline(handler_source()),
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            description=f"Thumbprint lookup and provider adoption for {issuer_url} (CloudFormation custom resources)",
        )
        # CDK makes the function depend on its role and the role's policy; the role is already
        # implied by the Role GetAtt (cfn-lint W3005), the policy must stay: it grants the calls.
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        self.function.node.default_child.add_override("DependsOn", [cdk.Stack.of(self).get_logical_id(policy)])

    def allow_hub_lookup(self, hub_lookup_role_arn: str) -> None:
        self.role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[hub_lookup_role_arn]))

    def allow_provider_management(self, provider_arn: str) -> None:
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags",
                     "iam:CreateOpenIDConnectProvider",
                     "iam:TagOpenIDConnectProvider", "iam:UpdateOpenIDConnectProviderThumbprint",
                     "iam:AddClientIDToOpenIDConnectProvider", "iam:RemoveClientIDFromOpenIDConnectProvider",
                     "iam:DeleteOpenIDConnectProvider"],
            resources=[provider_arn]))

    def custom_resource(self, scope: Construct, construct_id: str, *, resource_type: str,
                        properties: dict) -> cdk.CustomResource:
        return cdk.CustomResource(
            scope, construct_id,
            service_token=self.function.function_arn,
            resource_type=resource_type,
            properties=properties,
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )


class ThumbprintLookup(Construct):
    """Looks up the thumbprint(s) for ``issuer_url`` when the stack deploys.

    :param function: the stack's ``FederationFunction``.
    :param mode: ``hub`` (read the hub account's provider through the role ``hub_lookup_role_arn``)
        or ``tls`` (the SHA-1 of the top certificate the issuer's JWKS host presents).
    :param hub_account_id: hub mode: the account that holds the cluster's provider.
    :param hub_lookup_role_arn: hub mode: the role HubStack created there (may be a token).
    :param revision: any string; changing it makes CloudFormation run the lookup again.
    :param required_client_ids: hub mode: audiences the hub provider must list (when the spoke
        mirrors its client IDs); the lookup fails otherwise.

    ``thumbprints`` and ``client_ids`` are list tokens for ``CfnOIDCProvider``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, function: FederationFunction, mode: str,
                 issuer_url: str, hub_account_id: str | None = None, hub_lookup_role_arn: str | None = None,
                 revision: str = "1", required_client_ids: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        if mode not in ("hub", "tls"):
            raise ValueError(f"ThumbprintLookup: mode {mode!r} is not one of hub | tls")
        issuer_url = v.prop("issuer_url", v.issuer, issuer_url)
        properties = {"Mode": mode, "IssuerUrl": issuer_url, "Revision": revision}
        if mode == "hub":
            if hub_account_id is None or hub_lookup_role_arn is None:
                raise ValueError("ThumbprintLookup: hub mode needs hub_account_id and hub_lookup_role_arn")
            v.prop("hub_account_id", v.account_id, hub_account_id)
            function.allow_hub_lookup(hub_lookup_role_arn)
            properties |= {"HubAccountId": hub_account_id, "HubLookupRoleArn": hub_lookup_role_arn,
                           "Partition": cdk.Aws.PARTITION}
            if required_client_ids:
                properties["RequiredClientIds"] = ",".join(sorted(set(required_client_ids)))
        self.resource = function.custom_resource(self, "Resource", resource_type=LOOKUP_RESOURCE_TYPE,
                                                 properties=properties)
        self.thumbprints: Sequence[str] = cdk.Fn.split(",", self.resource.get_att_string("Thumbprints"))
        self.client_ids: Sequence[str] = cdk.Fn.split(",", self.resource.get_att_string("ClientIds"))


class AdoptedProvider(Construct):
    """The account's OIDC provider for ``issuer_url``: adopted where it exists, else created.

    A provider this resource did not create is never changed or deleted (CASES.md 5); one it
    created is updated in place and deleted with the stack. ``provider_arn`` is a token.

    :param client_ids: for a created provider; also checked against an adopted one's through
        ``required_client_ids`` (the roles' audiences).
    :param thumbprints: for a created provider: literal strings or a list token; may be empty.
    """

    def __init__(self, scope: Construct, construct_id: str, *, function: FederationFunction, issuer_url: str,
                 client_ids: Sequence[str], thumbprints: Sequence[str] = (),
                 required_client_ids: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        issuer_url = v.prop("issuer_url", v.issuer, issuer_url)
        function.allow_provider_management(cdk.Fn.sub(
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/" + v.issuer_host_path(issuer_url)))
        self.resource = function.custom_resource(self, "Resource", resource_type=PROVIDER_RESOURCE_TYPE, properties={
            "Kind": "provider",
            "IssuerUrl": issuer_url,
            "ClientIds": list(client_ids),
            "Thumbprints": thumbprints if cdk.Token.is_unresolved(thumbprints) else list(thumbprints),
            "RequiredClientIds": sorted(set(required_client_ids)),
        })
        self.provider_arn: str = self.resource.get_att_string("Arn")
