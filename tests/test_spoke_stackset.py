"""SpokeStackSet: one StackSet whose template is the SpokeStack template for the same config."""

from __future__ import annotations

import json
import os
import uuid

import boto3
import pytest
import yaml

from conftest import ROOT, synth
from oidc_federation.config import ConfigError, parse_config
from stacks.spoke_stack import SpokeStack
from stacks.spoke_stackset import TEMPLATE_BODY_LIMIT, SpokeStackSet, TemplateTooLarge
from test_spoke_stack import ISSUER_KEY, cfn_lint, only
from thumbprint_fixtures import aws_env, moto_endpoint  # noqa: F401  (fixture used by name)

STACKSET_CONFIG = ROOT / "config" / "stackset-example.yaml"


def stackset_raw() -> dict:
    return yaml.safe_load(STACKSET_CONFIG.read_text())


def spoke_and_stackset(app, config):
    SpokeStack(app, "SpokeStack", config=config)
    SpokeStackSet(app, "SpokeStackSet", config=config)


@pytest.fixture(scope="module")
def rollout():
    result = synth(stackset_raw(), build=spoke_and_stackset)
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def outer(rollout):
    return json.loads((rollout.outdir / "SpokeStackSet.template.json").read_text())


@pytest.fixture(scope="module")
def body(outer):
    return only({k: r for k, r in outer["Resources"].items()})["Properties"]["TemplateBody"]


def test_stackset_properties(outer):
    properties = dict(only(outer["Resources"])["Properties"])
    assert only(outer["Resources"])["Type"] == "AWS::CloudFormation::StackSet"
    properties.pop("TemplateBody")
    assert properties == {
        "StackSetName": "spoke-oidc-federation",
        "Description": "OIDC federation of https://oidc.op1.openshiftapps.com/abc123 (hub account 111111111111)",
        "PermissionModel": "SERVICE_MANAGED",
        "CallAs": "SELF",
        "Capabilities": ["CAPABILITY_NAMED_IAM"],
        "ManagedExecution": {"Active": True},
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "OperationPreferences": {"MaxConcurrentPercentage": 25, "FailureTolerancePercentage": 10,
                                 "RegionConcurrencyType": "SEQUENTIAL"},
        "StackInstancesGroup": [{"DeploymentTargets": {"OrganizationalUnitIds": ["ou-abcd-11112222"]},
                                 "Regions": ["us-east-2"]}],
    }


def test_body_equals_the_spoke_stack_template(rollout, body):
    assert json.loads(body) == rollout.template


def test_body_is_self_contained(body):
    # CASES.md 11: nothing a target account cannot resolve.
    template = json.loads(body)
    assert len(body.encode()) < TEMPLATE_BODY_LIMIT
    assert "BootstrapVersion" not in body and "cdk-bootstrap" not in body and "Rules" not in template
    assert "AWS::CDK::Metadata" not in body
    assert "S3Key" not in body and "S3Bucket" not in body
    assert cfn_lint(template) == []


def test_outer_template_lints_clean_and_needs_no_bootstrap(outer, rollout):
    assert cfn_lint(outer) == []
    assert "BootstrapVersion" not in json.dumps({k: v for k, v in outer.items() if k != "Resources"})
    assert "cdk-hnb659fds" not in (rollout.outdir / "manifest.json").read_text()


def test_per_account_values_are_parameters_and_trust_keys_stay_literal(body):
    template = json.loads(body)
    assert template["Parameters"] == {"RoleNameSpokeAccountRole": {
        "Type": "String", "Default": "spoke-account-role", "AllowedPattern": r"[\w+=,.@-]{1,64}",
        "Description": "Name of the role configured as spoke-account-role (override per account if needed)"}}
    role = next(r for r in template["Resources"].values()
                if r["Type"] == "AWS::IAM::Role" and "RoleNameSpokeAccountRole" in json.dumps(r))
    assert role["Properties"]["RoleName"] == {"Ref": "RoleNameSpokeAccountRole"}
    condition = role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    # CASES.md 6: still literal keys, parameters or not.
    assert condition == {"StringEquals": {f"{ISSUER_KEY}:sub": "system:serviceaccount:my-application-ca:default",
                                          f"{ISSUER_KEY}:aud": "sts.amazonaws.com"}}


def test_adopt_mode_provider_resource(body):
    template = json.loads(body)
    resources = template["Resources"]
    provider_id, provider = next((k, r) for k, r in resources.items() if r["Type"] == "Custom::OidcProvider")
    lookup_id = next(k for k, r in resources.items() if r["Type"] == "Custom::OidcThumbprintLookup")
    function_id = next(k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Function")
    assert provider["Properties"] == {
        "ServiceToken": {"Fn::GetAtt": [function_id, "Arn"]},
        "ServiceTimeout": "300",
        "Kind": "provider",
        "IssuerUrl": "https://oidc.op1.openshiftapps.com/abc123",
        "ClientIds": ["sts.amazonaws.com"],
        "Thumbprints": {"Fn::Split": [",", {"Fn::GetAtt": [lookup_id, "Thumbprints"]}]},
        "RequiredClientIds": ["sts.amazonaws.com"],
    }
    assert not [r for r in resources.values() if r["Type"] == "AWS::IAM::OIDCProvider"]
    role = next(r for r in resources.values() if r["Type"] == "AWS::IAM::Role" and "RoleName" in r["Properties"]
                and r["Properties"]["RoleName"] == {"Ref": "RoleNameSpokeAccountRole"})
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Federated": {"Fn::GetAtt": [provider_id, "Arn"]}}
    policy = next(r for r in resources.values() if r["Type"] == "AWS::IAM::Policy")
    management = policy["Properties"]["PolicyDocument"]["Statement"][-1]
    assert management["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/oidc.op1.openshiftapps.com/abc123"}
    assert set(management["Action"]) == {
        "iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags", "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint", "iam:AddClientIDToOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider", "iam:DeleteOpenIDConnectProvider"}


def test_hub_mode_lookup_role_name_is_a_parameter():
    raw = stackset_raw()
    raw["thumbprint"] = {"source": "hub"}
    raw["hub"]["lookup_access"] = {"organization_id": "o-abcdef1234"}
    result = synth(raw, build=spoke_and_stackset)
    assert result.error is None, result.error
    template = result.template
    assert template["Parameters"]["HubLookupRoleName"]["Default"] == "oidc-thumbprint-lookup"
    lookup = only(result.resources("Custom::OidcThumbprintLookup"))["Properties"]
    assert lookup["HubLookupRoleArn"] == {"Fn::Sub": ["arn:${AWS::Partition}:iam::111111111111:role/${Name}",
                                                      {"Name": {"Ref": "HubLookupRoleName"}}]}


def test_self_managed_model():
    raw = stackset_raw()
    raw["stackset"] = {"name": "fed", "permission_model": "self_managed", "accounts": ["222222222222", "333333333333"],
                       "regions": ["eu-west-1"],
                       "administration_role_arn": "arn:aws:iam::111111111111:role/AWSCloudFormationStackSetAdministrationRole"}
    result = synth(raw, build=spoke_and_stackset)
    assert result.error is None, result.error
    outer = json.loads((result.outdir / "SpokeStackSet.template.json").read_text())
    properties = only(outer["Resources"])["Properties"]
    assert properties["PermissionModel"] == "SELF_MANAGED"
    assert properties["ExecutionRoleName"] == "AWSCloudFormationStackSetExecutionRole"
    assert properties["AdministrationRoleARN"] == "arn:aws:iam::111111111111:role/AWSCloudFormationStackSetAdministrationRole"
    assert "AutoDeployment" not in properties and "CallAs" not in properties
    assert properties["StackInstancesGroup"] == [{"DeploymentTargets": {"Accounts": ["222222222222", "333333333333"]},
                                                  "Regions": ["eu-west-1"]}]
    assert cfn_lint(outer) == []


def test_template_over_the_body_limit_fails_the_synth_clearly():
    import aws_cdk as cdk
    raw = stackset_raw()
    big = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                          "Resource": [f"arn:aws:s3:::bucket-{i:04d}-{'x' * 40}/*" for i in range(100)]}]}
    raw["spoke"]["roles"] = [{"name": f"role-{n}", "service_accounts": [f"ns-{n}:sa"], "inline_policy": big}
                             for n in range(8)]
    config = parse_config(raw)
    with pytest.raises(TemplateTooLarge) as info:
        SpokeStackSet(cdk.App(), "SpokeStackSet", config=config)
    assert str(info.value).startswith("stackset: the spoke template is ")
    assert str(info.value).endswith(" bytes, over CloudFormation's 51,200-byte TemplateBody limit; use fewer roles "
                                    "or shorter inline policies (managed policies instead)")


def errors_for(change) -> list[str]:
    raw = stackset_raw()
    change(raw["stackset"])
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    return info.value.errors


@pytest.mark.parametrize("change, message", [
    (lambda s: s.update(organizational_unit_ids=["ou-ab"]), "stackset.organizational_unit_ids[0]: 'ou-ab' is not an organizational unit id; expected ou-<4-32 chars>-<8-32 chars> (e.g. ou-abcd-11112222) or a root id r-abcd"),
    (lambda s: s.update(organizational_unit_ids="ou-abcd-11112222"), "stackset.organizational_unit_ids: expected a list, got 'ou-abcd-11112222'; write it as [a, b] or one '- item' per line"),
    (lambda s: s.update(auto_deployment={"enabled": False, "retain_stacks_on_account_removal": True}), "stackset.auto_deployment.retain_stacks_on_account_removal: is only allowed with enabled: true (CloudFormation refuses it otherwise); set enabled: true or remove it"),
    (lambda s: s.update(organizational_unit_ids=[]), "stackset.organizational_unit_ids: is empty; permission_model: service_managed deploys to OUs, list at least one (ou-xxxx-xxxxxxxx or the root r-xxxx)"),
    (lambda s: s.update(account_filter="INTERSECTION", accounts=["12345"]), "stackset.accounts[0]: '12345' is not an AWS account id; give exactly 12 digits in quotes, e.g. \"111111111111\""),
    (lambda s: s.update(permission_model="self_managed", organizational_unit_ids=[], auto_deployment=None), "stackset.accounts: is empty; permission_model: self_managed deploys to listed accounts only, list their ids"),
    (lambda s: s.update(permission_model="self_managed", organizational_unit_ids=[], accounts=["222222222222"], account_filter="DIFFERENCE", auto_deployment=None), "stackset.account_filter: DIFFERENCE is only for permission_model: service_managed (self_managed deploys to exactly the listed accounts); remove it"),
    (lambda s: s.update(permission_model="self_managed", organizational_unit_ids=[], accounts=["222222222222"], call_as="DELEGATED_ADMIN", auto_deployment=None), "stackset.call_as: DELEGATED_ADMIN is only for permission_model: service_managed; use SELF"),
    (lambda s: s.update(accounts=["222222222222"]), "stackset.accounts: are ignored with account_filter: NONE; set account_filter to INTERSECTION, DIFFERENCE or UNION, or remove the accounts"),
    (lambda s: s.update(account_filter="DIFFERENCE"), "stackset.account_filter: DIFFERENCE needs stackset.accounts to filter with; list them or set NONE"),
    (lambda s: s.update(regions=[]), "stackset.regions: is empty; give one region (IAM is global, so one is enough), e.g. [us-east-2]"),
    (lambda s: s.update(regions=["us-east-2", "eu-west-1"]), "stackset.regions: ['us-east-2', 'eu-west-1'] has 2 regions; IAM is global, so one region is enough (a second would fail with EntityAlreadyExists on the same role names); keep one, e.g. [us-east-2]"),
    (lambda s: s.update(operation_preferences={"max_concurrent_percentage": 0}), "stackset.operation_preferences.max_concurrent_percentage: 0 is out of range; give a whole percentage from 1 to 100"),
    (lambda s: s.update(operation_preferences={"failure_tolerance_percentage": 101}), "stackset.operation_preferences.failure_tolerance_percentage: 101 is out of range; give a whole percentage from 0 to 100"),
    (lambda s: s.update(operation_preferences={"region_concurrency": "PARALEL"}), "stackset.operation_preferences.region_concurrency: 'PARALEL' is not one of SEQUENTIAL | PARALLEL; did you mean 'PARALLEL'?"),
    (lambda s: s.update(administration_role_arn="arn:aws:iam::111111111111:role/Admin"), "stackset.administration_role_arn: is only for permission_model: self_managed (service_managed uses the Organizations service role); remove it"),
    (lambda s: s.update(permision_model="self_managed"), "stackset.permision_model: unknown key; did you mean 'permission_model'? (allowed here: name, permission_model, call_as, organizational_unit_ids, accounts, account_filter, regions, auto_deployment, operation_preferences, administration_role_arn, execution_role_name)"),
    (lambda s: s.update(name="1-bad name"), "stackset.name: '1-bad name' is not a StackSet name; start with a letter, then letters, digits and '-', at most 128"),
])
def test_bad_stackset_input(change, message):
    assert errors_for(change) == [f"f.yaml: {message}"]


def test_moto_accepts_create_stack_set(moto_endpoint, monkeypatch, tmp_path, body):
    """moto's CloudFormation takes the synthesized template, capabilities and permission model.

    Its stack instances cannot be emulated offline: moto does not implement
    AWS::IAM::OIDCProvider or Lambda-backed custom resources (see README).
    """
    aws_env(monkeypatch, moto_endpoint, tmp_path)
    client = boto3.client("cloudformation", region_name="us-east-2")
    name = f"spoke-oidc-federation-{uuid.uuid4().hex[:8]}"
    created = client.create_stack_set(
        StackSetName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
        PermissionModel="SERVICE_MANAGED", AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        ManagedExecution={"Active": True})
    described = client.describe_stack_set(StackSetName=name)["StackSet"]
    # moto 5.2 records these; it does not echo Capabilities or ManagedExecution back.
    assert described["StackSetId"] == created["StackSetId"]
    assert described["Status"] == "ACTIVE"
    assert described["PermissionModel"] == "SERVICE_MANAGED"
    assert json.loads(described["TemplateBody"]) == json.loads(body)


@pytest.mark.integration
@pytest.mark.skipif(not os.environ.get("SPOKE_STACKSET_INTEGRATION"),
                    reason="set SPOKE_STACKSET_INTEGRATION=1, AWS credentials of a management or delegated-admin "
                           "account and SPOKE_STACKSET_OU=ou-... to create a real StackSet and its instances")
def test_real_stackset_rollout(body):
    client = boto3.client("cloudformation")
    ou = os.environ["SPOKE_STACKSET_OU"]
    region = os.environ.get("AWS_REGION", "us-east-2")
    name = f"spoke-oidc-federation-it-{uuid.uuid4().hex[:8]}"
    call_as = os.environ.get("SPOKE_STACKSET_CALL_AS", "SELF")
    client.create_stack_set(StackSetName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"],
                            PermissionModel="SERVICE_MANAGED", CallAs=call_as, ManagedExecution={"Active": True},
                            AutoDeployment={"Enabled": False})
    try:
        operation = client.create_stack_instances(
            StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [ou]}, Regions=[region], CallAs=call_as,
            OperationPreferences={"MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 0})["OperationId"]
        _wait_operation(client, name, operation, call_as)
        summaries = client.list_stack_instances(StackSetName=name, CallAs=call_as)["Summaries"]
        assert summaries and all(s["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED" for s in summaries), summaries
    finally:
        accounts_op = client.delete_stack_instances(
            StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [ou]}, Regions=[region],
            RetainStacks=False, CallAs=call_as)["OperationId"]
        _wait_operation(client, name, accounts_op, call_as)
        client.delete_stack_set(StackSetName=name, CallAs=call_as)


def _wait_operation(client, name, operation_id, call_as, timeout=1800):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.describe_stack_set_operation(StackSetName=name, OperationId=operation_id,
                                                     CallAs=call_as)["StackSetOperation"]["Status"]
        if status in ("SUCCEEDED", "FAILED", "STOPPED"):
            assert status == "SUCCEEDED", status
            return
        time.sleep(15)
    raise AssertionError(f"StackSet operation {operation_id} still running after {timeout}s")
