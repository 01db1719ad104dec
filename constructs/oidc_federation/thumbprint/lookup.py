"""ThumbprintLookup: a Lambda-backed custom resource that finds the provider's thumbprint at deploy time.

The function's code is ``handler.py`` beside this file, read at synth time and inlined as the
function's ``ZipFile`` (handler ``index.handler``): no asset, so the template deploys without a
bootstrap and inside StackSets.
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
RESOURCE_TYPE = "Custom::OidcThumbprintLookup"
FUNCTION_TIMEOUT = cdk.Duration.seconds(60)
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


class ThumbprintLookup(Construct):
    """Looks up the thumbprint(s) for ``issuer_url`` when the stack deploys.

    :param mode: ``hub`` (read the hub account's provider through ``hub_lookup_role_name``) or
        ``tls`` (the SHA-1 of the top certificate the issuer's JWKS host presents).
    :param hub_account_id: hub mode: the account that holds the cluster's provider.
    :param hub_lookup_role_name: hub mode: the role HubStack created there.
    :param revision: any string; changing it makes CloudFormation run the lookup again.
    :param required_client_ids: hub mode: audiences the hub provider must list (when the spoke
        mirrors its client IDs); the lookup fails otherwise.

    ``thumbprints`` and ``client_ids`` are list tokens for ``CfnOIDCProvider``. The function's
    role is named ``lookup_caller_role_name(issuer_url)``, the name HubStack trusts.
    """

    def __init__(self, scope: Construct, construct_id: str, *, mode: str, issuer_url: str,
                 hub_account_id: str | None = None, hub_lookup_role_name: str | None = None,
                 revision: str = "1", required_client_ids: Sequence[str] = ()) -> None:
        super().__init__(scope, construct_id)
        if mode not in ("hub", "tls"):
            raise ValueError(f"mode: {mode!r} is not one of hub | tls")
        try:
            issuer_url = v.issuer(issuer_url)
            if mode == "hub":
                if hub_account_id is None or hub_lookup_role_name is None:
                    raise v.Invalid("hub mode needs hub_account_id and hub_lookup_role_name")
                v.account_id(hub_account_id)
                v.role_name(hub_lookup_role_name)
        except v.Invalid as exc:
            raise ValueError(f"ThumbprintLookup: {exc}") from None

        self.log_group = logs.LogGroup(
            self, "Logs", retention=LOG_RETENTION, removal_policy=cdk.RemovalPolicy.DESTROY)

        self.role = iam.Role(
            self, "Role",
            role_name=lookup_caller_role_name(issuer_url),
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Thumbprint lookup for {issuer_url} at deploy time (custom resource function)",
        )
        # Its own log group only; no AWSLambdaBasicExecutionRole (logs:* on every group).
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn]))

        properties = {"Mode": mode, "IssuerUrl": issuer_url, "Revision": revision}
        self.hub_lookup_role_arn: str | None = None
        if mode == "hub":
            self.hub_lookup_role_arn = cdk.Fn.sub(
                f"arn:${{AWS::Partition}}:iam::{hub_account_id}:role/{hub_lookup_role_name}")
            self.role.add_to_policy(iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[self.hub_lookup_role_arn]))
            properties |= {"HubAccountId": hub_account_id, "HubLookupRoleArn": self.hub_lookup_role_arn,
                           "Partition": cdk.Aws.PARTITION}
            if required_client_ids:
                properties["RequiredClientIds"] = ",".join(sorted(set(required_client_ids)))

        self.function = lambda_.Function(
            self, "Function",
            runtime=newest_python_runtime(),
            handler="index.handler",
            code=lambda_.Code.from_inline(handler_source()),
            timeout=FUNCTION_TIMEOUT,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            description=f"Looks up the OIDC thumbprint of {issuer_url} ({mode} mode) for CloudFormation",
        )

        # CDK makes the function depend on its role and the role's policy; the role is already
        # implied by the Role GetAtt (cfn-lint W3005), the policy must stay: it grants the AssumeRole.
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        self.function.node.default_child.add_override("DependsOn", [cdk.Stack.of(self).get_logical_id(policy)])

        self.resource = cdk.CustomResource(
            self, "Resource",
            service_token=self.function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            # CASES.md 9: even if the function never answered, CloudFormation gives up after this
            # instead of the default hour. The handler itself answers well before its own timeout.
            service_timeout=CUSTOM_RESOURCE_TIMEOUT,
        )
        self.thumbprints: Sequence[str] = cdk.Fn.split(",", self.resource.get_att_string("Thumbprints"))
        self.client_ids: Sequence[str] = cdk.Fn.split(",", self.resource.get_att_string("ClientIds"))
