"""SpokeStack synthesized for real: provider, exact trust policies, outputs, no bootstrap needs."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3_assets
from aws_cdk.assertions import Template

from conftest import ROOT, example_raw, synth
from oidc_federation.config import RoleSpec, ServiceAccount
from oidc_federation.nag import RECORD_ONLY_CONTEXT, recorded_acknowledgements, report_findings, unmatched
from oidc_federation.spoke_federation import SpokeFederation

ISSUER_KEY = "oidc.op1.openshiftapps.com/abc123"


def cfn_lint(template: dict) -> list[str]:
    """cfn-lint's default rule set (errors and warnings, as its CLI runs) in several regions."""
    from cfnlint.api import ManualArgs, lint
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1", "us-east-2", "eu-west-1", "ap-southeast-2"]))
    return [str(m) for m in matches]


def several_raw() -> dict:
    raw = example_raw()
    raw["spoke"]["provider"]["client_ids"] = ["sts.amazonaws.com", "team-b-audience"]
    raw["spoke"]["roles"] = [
        {"name": "spoke-account-role",
         "service_accounts": ["my-application-ca:default", "system:serviceaccount:my-application-ca:builder", "batch:worker"]},
        {"name": "reader", "service_accounts": ["team-b:reader"], "audience": "team-b-audience",
         "managed_policy_arns": ["arn:aws:iam::222222222222:policy/team-b-read"],
         "permissions_boundary_arn": "arn:aws:iam::222222222222:policy/boundary",
         "max_session_duration": 7200, "tags": {"team": "b"}, "description": "Team B readers"},
    ]
    return raw


@pytest.fixture(scope="module")
def several():
    result = synth(several_raw())
    assert result.error is None, result.error
    return result


def only(resources: dict) -> dict:
    assert len(resources) == 1, resources
    return next(iter(resources.values()))


def test_provider_properties(example_synth):
    provider = only(example_synth.resources("AWS::IAM::OIDCProvider"))
    assert provider["Properties"] == {
        "Url": "https://oidc.op1.openshiftapps.com/abc123",
        "ClientIdList": ["sts.amazonaws.com"],
        "ThumbprintList": ["a053375bfe84e8b748782c7cee15827a6af5a405"],
    }


def test_exact_trust_policy_for_one_service_account(example_synth):
    provider_id = next(iter(example_synth.resources("AWS::IAM::OIDCProvider")))
    role = only(example_synth.resources("AWS::IAM::Role"))
    assert role["Properties"]["RoleName"] == "spoke-account-role"
    # CASES.md 6 and 7: literal condition keys, the web-identity action, never sts:AssumeRole.
    assert role["Properties"]["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": {"Fn::GetAtt": [provider_id, "Arn"]}},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER_KEY}:sub": "system:serviceaccount:my-application-ca:default",
                f"{ISSUER_KEY}:aud": "sts.amazonaws.com",
            }},
        }],
    }


def test_exact_trust_policy_for_several_service_accounts(several):
    provider_id = next(iter(several.resources("AWS::IAM::OIDCProvider")))
    roles = {r["Properties"]["RoleName"]: r for r in several.resources("AWS::IAM::Role").values()}
    assert roles["spoke-account-role"]["Properties"]["AssumeRolePolicyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": {"Fn::GetAtt": [provider_id, "Arn"]}},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER_KEY}:sub": ["system:serviceaccount:my-application-ca:default",
                                      "system:serviceaccount:my-application-ca:builder",
                                      "system:serviceaccount:batch:worker"],
                f"{ISSUER_KEY}:aud": "sts.amazonaws.com",
            }},
        }],
    }
    reader = roles["reader"]["Properties"]
    assert reader["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {"StringEquals": {
        f"{ISSUER_KEY}:sub": "system:serviceaccount:team-b:reader", f"{ISSUER_KEY}:aud": "team-b-audience"}}
    assert reader["ManagedPolicyArns"] == ["arn:aws:iam::222222222222:policy/team-b-read"]
    assert reader["PermissionsBoundary"] == "arn:aws:iam::222222222222:policy/boundary"
    assert reader["MaxSessionDuration"] == 7200
    assert reader["Tags"] == [{"Key": "team", "Value": "b"}]
    assert reader["Description"] == "Team B readers"
    assert only(several.resources("AWS::IAM::OIDCProvider"))["Properties"]["ClientIdList"] == ["sts.amazonaws.com", "team-b-audience"]


def test_condition_keys_are_literal_strings_everywhere(several):
    # CASES.md 6: no token (Fn::*, Ref) may appear in a condition key.
    for role in several.resources("AWS::IAM::Role").values():
        for statement in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
            for block in statement["Condition"].values():
                for key in block:
                    assert key.startswith(ISSUER_KEY + ":") and "${" not in key and "https://" not in key


def test_outputs(example_synth, several):
    provider_id = next(iter(example_synth.resources("AWS::IAM::OIDCProvider")))
    role_id = next(iter(example_synth.resources("AWS::IAM::Role")))
    assert example_synth.template["Outputs"] == {
        "ProviderArn": {"Description": "ARN of the OIDC provider for the hub cluster's issuer in this account",
                        "Value": {"Fn::GetAtt": [provider_id, "Arn"]}},
        "Issuer": {"Description": "The hub cluster's service-account issuer this account trusts",
                   "Value": "https://oidc.op1.openshiftapps.com/abc123"},
        "RoleArnSpokeAccountRole": {
            "Description": "ARN of role spoke-account-role: annotate its service accounts with eks.amazonaws.com/role-arn",
            "Value": {"Fn::GetAtt": [role_id, "Arn"]}},
    }
    assert set(several.template["Outputs"]) == {"ProviderArn", "Issuer", "RoleArnSpokeAccountRole", "RoleArnReader"}


def test_existing_provider_mode_creates_no_provider():
    raw = example_raw()
    raw["spoke"]["provider"]["mode"] = "existing"
    raw["thumbprint"] = {"source": "none"}
    result = synth(raw)
    assert result.error is None, result.error
    Template.from_json(result.template).resource_count_is("AWS::IAM::OIDCProvider", 0)
    arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"},
                             ":oidc-provider/oidc.op1.openshiftapps.com/abc123"]]}
    sub = {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/oidc.op1.openshiftapps.com/abc123"}
    principal = only(result.resources("AWS::IAM::Role"))["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
    assert principal["Federated"] in (arn, sub)
    assert result.template["Outputs"]["ProviderArn"]["Value"] in (arn, sub)


def test_source_none_omits_thumbprints():
    raw = example_raw()
    raw["thumbprint"] = {"source": "none"}
    result = synth(raw)
    assert "ThumbprintList" not in only(result.resources("AWS::IAM::OIDCProvider"))["Properties"]


def test_no_assets_bootstrap_or_metadata(example_synth, several):
    # CASES.md 11: StackSet targets cannot read bootstrap parameters, asset buckets or CDK metadata.
    for result in (example_synth, several):
        text = json.dumps(result.template)
        assert "BootstrapVersion" not in text and "cdk-bootstrap" not in text
        assert "Rules" not in result.template and "Parameters" not in result.template
        assert "AWS::CDK::Metadata" not in text
        assert "S3Key" not in text and "AssetParameters" not in text
        manifest = json.loads((result.outdir / "manifest.json").read_text())
        assert [a for a in manifest["artifacts"].values() if a["type"] == "cdk:asset-manifest"] == []
        assert not list(result.outdir.glob("asset.*"))
        # No bootstrap roles for the CLI to assume or to hand to CloudFormation: `cdk deploy`
        # works with the caller's credentials in an account that was never bootstrapped.
        assert "cdk-hnb659fds" not in json.dumps(manifest)
        assert manifest["artifacts"]["SpokeStack"]["properties"] == {
            "templateFile": "SpokeStack.template.json", "terminationProtection": False, "validateOnSynth": False}


def test_an_asset_added_by_mistake_fails_the_synth(tmp_path):
    from oidc_federation.config import parse_config
    from stacks.spoke_stack import SpokeStack

    app = cdk.App(outdir=str(tmp_path), analytics_reporting=False)
    stack = SpokeStack(app, "SpokeStack", config=parse_config(example_raw()))
    with pytest.raises(RuntimeError, match="SpokeStack must deploy without a bootstrap bucket .*: a file asset was added"):
        aws_s3_assets.Asset(stack, "Oops", path=str(ROOT / "config"))
        app.synth()


def test_environment_pinned_from_config(example_synth):
    stack = example_synth.app.node.find_child("SpokeStack")
    assert (stack.account, stack.region) == ("222222222222", "us-east-2")


def test_cfn_lint_reports_nothing(example_synth, several):
    for result in (example_synth, several):
        assert cfn_lint(result.template) == []


def nag_raw() -> dict:
    raw = example_raw()
    role = raw["spoke"]["roles"][0]
    role["managed_policy_arns"] = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    role["inline_policy"] = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    return raw


def test_unacknowledged_nag_finding_fails_the_synth():
    result = synth(nag_raw())
    assert result.error is not None and "ValidationFailed" in str(result.error)
    assert sorted(rule for rule, _ in report_findings(result.outdir)) == [
        "AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess]", "AwsSolutions-IAM5[Resource::*]"]


def acked_raw() -> dict:
    raw = nag_raw()
    raw["spoke"]["roles"][0]["acknowledgements"] = [
        {"id": "AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess]",
         "reason": "The team asked for read-only access to the whole account."},
        {"id": "AwsSolutions-IAM5[Resource::*]", "reason": "Objects are read from buckets named at run time."},
    ]
    return raw


def test_config_acknowledgements_let_the_synth_pass():
    result = synth(acked_raw())
    assert result.error is None, result.error


def test_every_acknowledgement_matches_a_finding():
    # CASES.md 13: record the acknowledgements without applying them; each must cover a finding.
    raw = acked_raw()
    raw["spoke"]["roles"][0]["acknowledgements"].append(
        {"id": "AwsSolutions-IAM5[Action::s3:*]", "reason": "stale: the policy no longer has this action"})
    result = synth(raw, context={RECORD_ONLY_CONTEXT: True})
    acks = recorded_acknowledgements(result.app)
    assert len(acks) == 3
    assert unmatched(acks, report_findings(result.outdir)) == [
        ("SpokeStack/Federation/RoleSpokeAccountRole", "AwsSolutions-IAM5[Action::s3:*]",
         "stale: the policy no longer has this action")]


def test_construct_checks_its_props_before_creating_anything():
    stack = cdk.Stack(cdk.App(), "S")
    role = RoleSpec(name="r", service_accounts=(ServiceAccount("ns", "sa"),), audience="sts.amazonaws.com")
    cases = [
        (dict(issuer_url="https://x.example.com/"), "issuer_url: 'https://x.example.com/' ends with '/'"),
        (dict(thumbprints=["ab"]), "thumbprints: 'ab' is not a SHA-1 thumbprint"),
        (dict(roles=[role, role]), "roles: 'r' is given twice"),
        (dict(client_ids=["other"]), "roles: 'r' has audience 'sts.amazonaws.com', which is not one of client_ids ['other']"),
        (dict(provider_mode="adopt-ish"), "provider_mode: 'adopt-ish' is not one of"),
    ]
    for i, (change, message) in enumerate(cases):
        props = dict(issuer_url="https://x.example.com", client_ids=["sts.amazonaws.com"], roles=[role]) | change
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
            SpokeFederation(stack, f"F{i}", **props)
        assert stack.node.try_find_child(f"F{i}") is None or not stack.node.find_child(f"F{i}").node.children


def test_cfn_lint_check_can_fail(example_synth):
    broken = json.loads(json.dumps(example_synth.template))
    next(iter(broken["Resources"].values()))["Properties"]["Bogus"] = 1  # E3002: unknown property
    assert cfn_lint(broken) != []


def test_retain_on_delete_keeps_the_created_provider():
    # Review finding: switching a deployed stack from create to adopt/existing removes the native
    # provider from the template; with retain_on_delete set first, CloudFormation keeps it.
    raw = example_raw()
    raw["spoke"]["provider"]["retain_on_delete"] = True
    provider = only(synth(raw).resources("AWS::IAM::OIDCProvider"))
    assert (provider["DeletionPolicy"], provider["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "DeletionPolicy" not in only(synth(example_raw()).resources("AWS::IAM::OIDCProvider"))


def test_role_names_differing_only_in_punctuation():
    # Review finding: spoke-account-role and spoke_account_role are distinct IAM names; the synth
    # must not crash on their construct ids or output keys.
    raw = example_raw()
    raw["spoke"]["roles"].append({"name": "spoke_account_role", "service_accounts": ["team-b:reader"]})
    result = synth(raw)
    assert result.error is None, result.error
    names = sorted(r["Properties"]["RoleName"] for r in result.resources("AWS::IAM::Role").values())
    assert names == ["spoke-account-role", "spoke_account_role"]
    keys = sorted(k for k in result.template["Outputs"] if k.startswith("RoleArn"))
    assert len(keys) == 2 and keys[0] == "RoleArnSpokeAccountRole"


def many_roles_raw(bootstrapped: bool) -> dict:
    raw = example_raw()
    raw["thumbprint"] = {"source": "tls"}
    raw["spoke"]["bootstrapped"] = bootstrapped
    raw["spoke"]["roles"] = [{"name": f"team-{i:02d}-role", "service_accounts": [f"team-{i:02d}:default"]}
                             for i in range(12)]
    return raw


def test_many_roles_with_a_function_need_a_bootstrapped_account(tmp_path):
    import app
    from oidc_federation.config import parse_config
    from stacks.spoke_stack import SpokeStack

    def problems(bootstrapped):
        a = cdk.App(outdir=str(tmp_path / str(bootstrapped)), analytics_reporting=False)
        SpokeStack(a, "SpokeStack", config=parse_config(many_roles_raw(bootstrapped)))
        assembly = a.synth()
        return assembly, app.oversized_templates(assembly)

    _, refused = problems(False)
    assert len(refused) == 1 and refused[0].startswith("SpokeStack: the template is about ")
    assert refused[0].endswith("or set spoke.bootstrapped: true for an account that has `cdk bootstrap`")
    assembly, accepted = problems(True)
    assert accepted == []
    stack = assembly.get_stack_by_name("SpokeStack")
    assert "BootstrapVersion" in stack.template["Parameters"] and "cdk-hnb659fds" in stack.assume_role_arn


def test_bootstrapped_spoke_cannot_feed_a_stackset():
    from oidc_federation.config import ConfigError, parse_config
    raw = example_raw()
    raw["spoke"]["bootstrapped"] = True
    raw["stackset"] = {"name": "s", "permission_model": "service_managed",
                       "organizational_unit_ids": ["ou-abcd-11112222"], "regions": ["us-east-2"]}
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    assert "f.yaml: spoke.bootstrapped: cannot be true with a stackset section: StackSet targets cannot read a bootstrap bucket, so the spoke template must deploy without one; remove it" in info.value.errors
