"""The deploy-time thumbprint lookup in the templates: SpokeStack (hub, tls modes) and HubStack."""

from __future__ import annotations

import json

import pytest

from conftest import example_raw, synth
from oidc_federation.nag import RECORD_ONLY_CONTEXT, recorded_acknowledgements, report_findings, unmatched
from oidc_federation.names import lookup_caller_role_name
from oidc_federation.thumbprint.lookup import handler_source
from stacks.hub_stack import HubStack
from stacks.spoke_stack import SpokeStack
from test_spoke_stack import cfn_lint, only

ISSUER = "https://oidc.op1.openshiftapps.com/abc123"
CALLER = lookup_caller_role_name(ISSUER)


def both_stacks(app, config):
    SpokeStack(app, "SpokeStack", config=config)
    HubStack(app, "HubStack", config=config)


def lookup_raw(source: str, **provider) -> dict:
    raw = example_raw()
    raw["thumbprint"] = {"source": source}
    raw["spoke"]["provider"].update(provider)
    return raw


@pytest.fixture(scope="module")
def hub_mode():
    raw = lookup_raw("hub")
    raw["hub"]["lookup_access"] = {"spoke_account_ids": ["222222222222", "333333333333"], "organization_id": "o-abcdef1234"}
    result = synth(raw, build=both_stacks)
    assert result.error is None, result.error
    return result


@pytest.fixture(scope="module")
def hub_template(hub_mode):
    return json.loads((hub_mode.outdir / "HubStack.template.json").read_text())


@pytest.fixture(scope="module")
def tls_mode():
    result = synth(lookup_raw("tls"))
    assert result.error is None, result.error
    return result


def test_inlined_code_is_the_handler_module(hub_mode, tls_mode):
    for result in (hub_mode, tls_mode):
        function = only(result.resources("AWS::Lambda::Function"))["Properties"]
        assert function["Code"] == {"ZipFile": handler_source()}
        assert function["Handler"] == "index.handler"


def test_function_settings(hub_mode):
    from aws_cdk import aws_lambda
    function_resource = only(hub_mode.resources("AWS::Lambda::Function"))
    # The function must not run before its role may assume the hub role.
    assert function_resource["DependsOn"] == list(hub_mode.resources("AWS::IAM::Policy"))
    function = function_resource["Properties"]
    newest = max(int(n.rsplit("_", 1)[1]) for n in dir(aws_lambda.Runtime) if n.startswith("PYTHON_3_"))
    assert function["Runtime"] == f"python3.{newest}"
    assert function["Timeout"] == 60  # CASES.md 9: never the 3-second default
    log_group_id = next(iter(hub_mode.resources("AWS::Logs::LogGroup")))
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    assert only(hub_mode.resources("AWS::Logs::LogGroup"))["Properties"] == {"RetentionInDays": 90}


def test_function_role_may_only_assume_the_hub_role_and_write_its_logs(hub_mode):
    roles = hub_mode.resources("AWS::IAM::Role")
    role_id, role = next((k, r) for k, r in roles.items() if r["Properties"]["RoleName"] == CALLER)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}]
    assert "ManagedPolicyArns" not in role["Properties"]
    log_group_id = next(iter(hub_mode.resources("AWS::Logs::LogGroup")))
    policy = only(hub_mode.resources("AWS::IAM::Policy"))["Properties"]
    assert policy["Roles"] == [{"Ref": role_id}]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]}},
        {"Action": "sts:AssumeRole", "Effect": "Allow",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/oidc-thumbprint-lookup"}},
    ]


def test_custom_resource_feeds_the_provider(hub_mode):
    function_id = next(iter(hub_mode.resources("AWS::Lambda::Function")))
    lookup_id, lookup = next(iter(hub_mode.resources("Custom::OidcThumbprintLookup").items()))
    assert lookup["Properties"] == {
        "ServiceToken": {"Fn::GetAtt": [function_id, "Arn"]},
        "ServiceTimeout": "300",
        "Mode": "hub",
        "IssuerUrl": ISSUER,
        "Revision": "1",
        "HubAccountId": "111111111111",
        "HubLookupRoleArn": {"Fn::Sub": "arn:${AWS::Partition}:iam::111111111111:role/oidc-thumbprint-lookup"},
        "Partition": {"Ref": "AWS::Partition"},
    }
    provider = only(hub_mode.resources("AWS::IAM::OIDCProvider"))["Properties"]
    assert provider["ThumbprintList"] == {"Fn::Split": [",", {"Fn::GetAtt": [lookup_id, "Thumbprints"]}]}
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]


def test_tls_mode_has_no_hub_access(tls_mode):
    lookup = only(tls_mode.resources("Custom::OidcThumbprintLookup"))["Properties"]
    assert lookup["Mode"] == "tls" and "HubLookupRoleArn" not in lookup
    statements = only(tls_mode.resources("AWS::IAM::Policy"))["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == [["logs:CreateLogStream", "logs:PutLogEvents"]]


def test_mirrored_client_ids_come_from_the_lookup():
    result = synth(lookup_raw("hub", mirror_hub_client_ids=True))
    lookup_id = next(iter(result.resources("Custom::OidcThumbprintLookup")))
    provider = only(result.resources("AWS::IAM::OIDCProvider"))["Properties"]
    assert provider["ClientIdList"] == {"Fn::Split": [",", {"Fn::GetAtt": [lookup_id, "ClientIds"]}]}
    # The lookup refuses a hub provider that lacks an audience the roles trust.
    assert only(result.resources("Custom::OidcThumbprintLookup"))["Properties"]["RequiredClientIds"] == "sts.amazonaws.com"


@pytest.mark.parametrize("source", ["static", "none"])
def test_static_and_none_have_no_function(source, example_synth):
    result = example_synth if source == "static" else synth(lookup_raw("none"))
    assert result.resources("AWS::Lambda::Function") == {}
    assert result.resources("Custom::OidcThumbprintLookup") == {}


def test_lookup_templates_have_no_assets_and_lint_clean(hub_mode, hub_template, tls_mode):
    for template in (hub_mode.template, hub_template, tls_mode.template):
        text = json.dumps(template)
        assert "S3Key" not in text and "S3Bucket" not in text and "BootstrapVersion" not in text
        assert "AWS::CDK::Metadata" not in text
        assert cfn_lint(template) == []
    manifest = json.loads((hub_mode.outdir / "manifest.json").read_text())
    assert [a for a in manifest["artifacts"].values() if a["type"] == "cdk:asset-manifest"] == []
    assert "cdk-hnb659fds" not in json.dumps(manifest)  # HubStack too deploys without a bootstrap


def test_hub_role_trust_is_limited_to_the_spoke_lookup_function(hub_template):
    role = only({k: r for k, r in hub_template["Resources"].items() if r["Type"] == "AWS::IAM::Role"})["Properties"]
    assert role["RoleName"] == "oidc-thumbprint-lookup"
    assert role["AssumeRolePolicyDocument"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "SpokeLookupFunctions", "Effect": "Allow",
         "Principal": {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::222222222222:root"},
                               {"Fn::Sub": "arn:${AWS::Partition}:iam::333333333333:root"}]},
         "Action": "sts:AssumeRole",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": [
             {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::222222222222:role/{CALLER}"},
             {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::333333333333:role/{CALLER}"}]}}},
        {"Sid": "OrganizationLookupFunctions", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"},
                       "ArnLike": {"aws:PrincipalArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::*:role/{CALLER}"}}}},
    ]}
    assert role["Policies"] == [{"PolicyName": "read-oidc-provider", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheProvider", "Effect": "Allow", "Action": "iam:GetOpenIDConnectProvider",
         "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/oidc.op1.openshiftapps.com/abc123"}},
        {"Sid": "FindNearMatches", "Effect": "Allow", "Action": "iam:ListOpenIDConnectProviders", "Resource": "*"},
    ]}}]


def test_hub_stack_pins_the_hub_account(hub_mode):
    assert hub_mode.app.node.find_child("HubStack").account == "111111111111"


def test_caller_role_name_is_stable_and_distinct_per_issuer():
    assert CALLER == lookup_caller_role_name(ISSUER)
    assert CALLER.startswith("oidc-thumbprint-lookup-") and len(CALLER) == len("oidc-thumbprint-lookup-") + 12
    assert lookup_caller_role_name("https://other.example.com/x") != CALLER


def test_every_acknowledgement_in_both_stacks_matches_a_finding():
    # CASES.md 13: record-only synth; each acknowledgement must still cover a real finding.
    raw = lookup_raw("hub")
    result = synth(raw, build=both_stacks, context={RECORD_ONLY_CONTEXT: True})
    acks = recorded_acknowledgements(result.app)
    assert acks, "the hub role's List acknowledgement should be recorded"
    assert unmatched(acks, report_findings(result.outdir)) == []


def test_hub_source_needs_someone_to_trust():
    from oidc_federation.config import ConfigError, parse_config
    raw = lookup_raw("hub")
    del raw["spoke"]["account_id"]
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    assert info.value.errors == [
        "f.yaml: hub.lookup_access: is empty; with thumbprint.source: hub, list spoke_account_ids or organization_id "
        "(who may assume the hub's lookup role), or set spoke.account_id"]
    raw["hub"]["lookup_access"] = {"organization_id": "o-12"}
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    assert info.value.errors == ["f.yaml: hub.lookup_access.organization_id: 'o-12' is not an AWS Organizations id; "
                                 "expected o- and 10 to 32 lower-case letters or digits, e.g. o-a1b2c3d4e5"]


def test_mirror_needs_hub_source():
    from oidc_federation.config import ConfigError, parse_config
    raw = lookup_raw("tls", mirror_hub_client_ids=True)
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    assert info.value.errors == ["f.yaml: spoke.provider.mirror_hub_client_ids: needs thumbprint.source: hub (source is tls); the client IDs come from the hub's provider"]


def test_lookup_constructs_check_their_props_with_the_config_messages():
    import aws_cdk as cdk
    from oidc_federation.thumbprint.lookup import FederationFunction
    stack = cdk.Stack(cdk.App(), "S")
    with pytest.raises(ValueError, match=r"^issuer_url: 'https://x.example.com/' ends with '/'"):
        FederationFunction(stack, "F", issuer_url="https://x.example.com/")
