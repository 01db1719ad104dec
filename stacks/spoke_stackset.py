"""SpokeStackSet: one CloudFormation StackSet that rolls the SpokeStack template out to many accounts."""

from __future__ import annotations

import json
import tempfile

import aws_cdk as cdk
from aws_cdk import aws_cloudformation as cfn
from constructs import Construct

from oidc_federation.synthesizer import NoBootstrapSynthesizer
from oidc_federation.config import FederationConfig, StackSetSpec

# CloudFormation's limit for a template passed inline (TemplateBody), in bytes.
TEMPLATE_BODY_LIMIT = 51_200


class TemplateTooLarge(ValueError):
    pass


def spoke_template(config: FederationConfig) -> dict:
    """The SpokeStack template for ``config``, synthesized by the same code as ``cdk synth SpokeStack``."""
    from stacks.spoke_stack import SpokeStack  # the same class the app deploys

    with tempfile.TemporaryDirectory(prefix="spoke-template-") as outdir:
        inner = cdk.App(outdir=outdir, analytics_reporting=False)
        SpokeStack(inner, "SpokeStack", config=config)
        return inner.synth().get_stack_by_name("SpokeStack").template


def template_body(template: dict) -> str:
    """The template as compact JSON, checked against the TemplateBody limit."""
    body = json.dumps(template, separators=(",", ":"), sort_keys=False)
    size = len(body.encode("utf-8"))
    if size > TEMPLATE_BODY_LIMIT:
        raise TemplateTooLarge(
            f"stackset: the spoke template is {size:,} bytes, over CloudFormation's {TEMPLATE_BODY_LIMIT:,}-byte "
            "TemplateBody limit; use fewer roles or shorter inline policies (managed policies instead)")
    return body


class SpokeStackSet(cdk.Stack):
    """Deployed in the hub, management or delegated-admin account; holds one ``AWS::CloudFormation::StackSet``."""

    def __init__(self, scope: Construct, construct_id: str, *, config: FederationConfig, **kwargs) -> None:
        spec: StackSetSpec = config.stackset
        super().__init__(
            scope, construct_id,
            synthesizer=NoBootstrapSynthesizer(),
            analytics_reporting=False,
            description=f"StackSet {spec.name}: OIDC federation of {config.hub.issuer_url} into spoke accounts",
            **kwargs,
        )
        self.template = spoke_template(config)
        self.body = template_body(self.template)
        service_managed = spec.permission_model == "service_managed"
        targets = cfn.CfnStackSet.DeploymentTargetsProperty(
            organizational_unit_ids=list(spec.organizational_unit_ids) or None,
            accounts=list(spec.accounts) or None,
            account_filter_type=spec.account_filter if service_managed and spec.account_filter != "NONE" else None,
        )
        self.stack_set = cfn.CfnStackSet(
            self, "StackSet",
            stack_set_name=spec.name,
            description=f"OIDC federation of {config.hub.issuer_url} (hub account {config.hub.account_id})",
            permission_model=spec.permission_model.upper(),
            call_as=spec.call_as if service_managed else None,
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            template_body=self.body,
            auto_deployment=cfn.CfnStackSet.AutoDeploymentProperty(
                enabled=spec.auto_deployment_enabled,
                retain_stacks_on_account_removal=spec.retain_stacks_on_account_removal,
            ) if service_managed else None,
            operation_preferences=cfn.CfnStackSet.OperationPreferencesProperty(
                max_concurrent_percentage=spec.max_concurrent_percentage,
                failure_tolerance_percentage=spec.failure_tolerance_percentage,
                region_concurrency_type=spec.region_concurrency,
            ),
            administration_role_arn=spec.administration_role_arn,
            execution_role_name=spec.execution_role_name,
            stack_instances_group=[cfn.CfnStackSet.StackInstancesProperty(
                deployment_targets=targets, regions=list(spec.regions))],
        )
        cdk.CfnOutput(self, "StackSetId", value=self.stack_set.attr_stack_set_id,
                      description="The StackSet that rolls the spoke template out")
