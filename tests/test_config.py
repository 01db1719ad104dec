"""Config file: every bad input stops with one line naming the key, the value and the fix."""

from __future__ import annotations

import pytest

from conftest import EXAMPLE_CONFIG, example_raw
from oidc_federation.config import ConfigError, load_config, parse_config


def errors_for(change) -> list[str]:
    raw = example_raw()
    change(raw)
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="f.yaml")
    for line in info.value.errors:
        assert "\n" not in line
    return info.value.errors


def set_path(path: str, value):
    def change(raw):
        node = raw
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def role0(**fields):
    def change(raw):
        raw["spoke"]["roles"][0].update(fields)
    return change


def test_example_loads_with_the_seed_guide_values():
    config = load_config(EXAMPLE_CONFIG)
    role = config.spoke.roles[0]
    assert config.hub.issuer_url == "https://oidc.op1.openshiftapps.com/abc123"
    assert config.hub.issuer_host_path == "oidc.op1.openshiftapps.com/abc123"
    assert role.name == "spoke-account-role"
    assert [sa.subject for sa in role.service_accounts] == ["system:serviceaccount:my-application-ca:default"]
    assert role.audience == "sts.amazonaws.com"
    assert config.warnings == ()


@pytest.mark.parametrize("issuer, message", [
    ("http://oidc.example.com/abc", "'http://oidc.example.com/abc' must start with https:// (IAM only trusts HTTPS issuers); use https://oidc.example.com/abc"),
    ("HTTPS://oidc.example.com/abc", "'HTTPS://oidc.example.com/abc' must start with https:// (IAM only trusts HTTPS issuers); use https://oidc.example.com/abc"),
    ("https://oidc.example.com/abc/.well-known/openid-configuration", "'https://oidc.example.com/abc/.well-known/openid-configuration' is the discovery document's URL, not the issuer; use https://oidc.example.com/abc"),
    ("https://10.0.0.1/abc", "'https://10.0.0.1/abc' is not a public DNS name; STS fetches the issuer's keys over the internet, so the cluster's issuer must be a public https URL (on ROSA/EKS it always is)"),
    ("https://localhost/abc", "'https://localhost/abc' is not a public DNS name; STS fetches the issuer's keys over the internet, so the cluster's issuer must be a public https URL (on ROSA/EKS it always is)"),
    ("https://oidc.example.com/a/../b", "'https://oidc.example.com/a/../b' has a '.' or '..' path segment; use the issuer exactly as the cluster reports it"),
    ("https://oidc.example.com/ab:c", "'https://oidc.example.com/ab:c' has characters IAM does not accept in a provider path (only letters, digits and ._~-/); use the issuer exactly as the cluster reports it"),
    ("https://oidc.example.com/abc?x=1", "'https://oidc.example.com/abc?x=1' must not contain a query; use https://oidc.example.com/abc"),
    ("https://oidc.example.com/abc#frag", "'https://oidc.example.com/abc#frag' must not contain a fragment; use https://oidc.example.com/abc"),
    ("https://oidc.example.com:443/abc", "'https://oidc.example.com:443/abc' must not contain a port (IAM refuses one); use https://oidc.example.com/abc"),
    # CASES.md 4: a trailing slash gives a provider that no token matches.
    ("https://oidc.example.com/abc/", "'https://oidc.example.com/abc/' ends with '/', which no token's issuer matches; use the canonical form https://oidc.example.com/abc"),
    ("https://oidc.example.com/", "'https://oidc.example.com/' ends with '/', which no token's issuer matches; use the canonical form https://oidc.example.com"),
    ("https://OIDC.example.com/abc", "'https://OIDC.example.com/abc' has upper-case letters in its host; tokens carry the issuer as written by the cluster, use https://oidc.example.com/abc"),
    ("https://user@oidc.example.com/abc", "'https://user@oidc.example.com/abc' must not contain user info; use https://oidc.example.com/abc"),
    ("oidc.example.com/abc", "'oidc.example.com/abc' must start with https:// (IAM only trusts HTTPS issuers); use https://oidc.example.com/abc"),
])
def test_bad_issuer(issuer, message):
    assert errors_for(set_path("hub.issuer_url", issuer)) == [f"f.yaml: hub.issuer_url: {message}"]


@pytest.mark.parametrize("value, message", [
    ("11111111111", "'11111111111' is not an AWS account id; give exactly 12 digits in quotes, e.g. \"111111111111\""),
    ("1111-1111-1111", "'1111-1111-1111' is not an AWS account id; give exactly 12 digits in quotes, e.g. \"111111111111\""),
    (1234567, "1234567 was read by YAML as a number, which loses leading zeros and reads 0x/0o forms; quote the account id, e.g. \"012345678901\""),
    (111111111111, "111111111111 was read by YAML as a number, which loses leading zeros and reads 0x/0o forms; quote the account id, e.g. \"012345678901\""),
    ("\u0661" * 12, "'" + "\u0661" * 12 + "' is not an AWS account id; give exactly 12 digits in quotes, e.g. \"111111111111\""),
])
def test_bad_account_id(value, message):
    assert errors_for(set_path("hub.account_id", value)) == [f"f.yaml: hub.account_id: {message}"]
    assert errors_for(set_path("spoke.account_id", value)) == [f"f.yaml: spoke.account_id: {message}"]


SHA1 = "a053375bfe84e8b748782c7cee15827a6af5a405"


@pytest.mark.parametrize("values, message", [
    # CASES.md 3: SHA-256, empty, garbage, six thumbprints, an empty list.
    (["9" * 64], "thumbprint.values[0]: '" + "9" * 64 + "' is a SHA-256 (64 hex); IAM wants the SHA-1 (40 hex) of the top intermediate CA, e.g. from scripts/thumbprint_lookup.py"),
    ([1234567890123456789012345678901234567890], "thumbprint.values[0]: 1234567890123456789012345678901234567890 was read by YAML as a number; quote the thumbprint (40 hex characters)"),
    ([""], "thumbprint.values[0]: '' is empty; give the SHA-1 (40 hex characters) of the issuer's top intermediate CA"),
    (["xyz"], "thumbprint.values[0]: 'xyz' is not a SHA-1 thumbprint; give 40 hex characters (colons and case are normalised)"),
    ([SHA1[:-1]], f"thumbprint.values[0]: '{SHA1[:-1]}' is not a SHA-1 thumbprint; give 40 hex characters (colons and case are normalised)"),
    ([f"{i}" * 40 for i in range(6)], "thumbprint.values: has 6 thumbprints; IAM allows at most 5 per provider, keep the current CA's"),
    ([], "thumbprint.values: is empty; source: static needs 1 to 5 SHA-1 thumbprints (or use source: tls, hub or none)"),
    ([SHA1, SHA1.upper()], f"thumbprint.values[1]: '{SHA1.upper()}' repeats an earlier thumbprint (after normalising colons and case); keep one"),
])
def test_bad_thumbprints(values, message):
    assert errors_for(set_path("thumbprint.values", values)) == [f"f.yaml: {message}"]


def test_thumbprint_colons_and_case_are_normalised():
    # CASES.md 3: colons and upper case are normalised, never passed through.
    raw = example_raw()
    raw["thumbprint"]["values"] = [":".join(SHA1.upper()[i:i + 2] for i in range(0, 40, 2))]
    assert parse_config(raw).thumbprint.values == (SHA1,)


def test_values_with_non_static_source_is_refused():
    def change(raw):
        raw["thumbprint"]["source"] = "none"
    assert errors_for(change) == ["f.yaml: thumbprint.values: is only read with source: static (source is none); remove it or set source: static"]


@pytest.mark.parametrize("sa, message", [
    ("My-App:default", "namespace 'My-App' is not a valid Kubernetes namespace; use lower-case letters, digits and '-', at most 63, starting and ending alphanumeric"),
    ("my-app:Default_SA", "service account name 'Default_SA' is not valid in Kubernetes; use lower-case letters, digits, '-' and '.', at most 253"),
    ("my-app", "'my-app' is not namespace:name; write e.g. my-application-ca:default or system:serviceaccount:my-application-ca:default"),
    ("*", "'*' is a wildcard; a trust policy must name each service account (namespace:name), a wildcard would let any pod assume the role"),
    ("my-app:*", "'my-app:*' is a wildcard; a trust policy must name each service account (namespace:name), a wildcard would let any pod assume the role"),
    ("a" * 64 + ":default", "namespace '" + "a" * 64 + "' is not a valid Kubernetes namespace; use lower-case letters, digits and '-', at most 63, starting and ending alphanumeric"),
    ("system:serviceaccount:ns", "'system:serviceaccount:ns' is not namespace:name; write e.g. my-application-ca:default or system:serviceaccount:my-application-ca:default"),
])
def test_bad_service_accounts(sa, message):
    assert errors_for(role0(service_accounts=[sa])) == [f"f.yaml: spoke.roles[0].service_accounts[0]: {message}"]


def test_full_subject_form_is_accepted():
    raw = example_raw()
    raw["spoke"]["roles"][0]["service_accounts"] = ["system:serviceaccount:team-a:builder"]
    assert parse_config(raw).spoke.roles[0].service_accounts[0].subject == "system:serviceaccount:team-a:builder"


def test_audience_missing_from_client_ids_names_the_near_miss():
    # CASES.md 8: sts.amazon.com (typo) is refused, with the reason.
    assert errors_for(role0(audience="sts.amazon.com")) == [
        "f.yaml: spoke.roles[0].audience: 'sts.amazon.com' is not one of spoke.provider.client_ids ['sts.amazonaws.com']; "
        "add it there or use one of them ('sts.amazon.com' looks like a typo of 'sts.amazonaws.com'; "
        "tokens for a different audience are refused with 'Incorrect token audience')"]
    assert errors_for(role0(audience="openshift")) == [
        "f.yaml: spoke.roles[0].audience: 'openshift' is not one of spoke.provider.client_ids ['sts.amazonaws.com']; "
        "add it there or use one of them ('openshift' is the audience of OpenShift's own operator tokens; "
        "pods using the AWS SDK through the webhook present sts.amazonaws.com)"]


def test_near_miss_listed_in_both_places_is_a_warning():
    raw = example_raw()
    raw["spoke"]["provider"]["client_ids"] = ["sts.amazon.com"]
    del raw["spoke"]["roles"][0]["audience"]
    config = parse_config(raw, source="f.yaml")
    assert config.spoke.roles[0].audience == "sts.amazon.com"  # defaults to the first client id
    assert config.warnings == (
        "f.yaml: spoke.provider.client_ids: 'sts.amazon.com' looks like a typo of 'sts.amazonaws.com'; tokens for a different audience are refused with 'Incorrect token audience'",
        "f.yaml: spoke.roles[0].audience: 'sts.amazon.com' looks like a typo of 'sts.amazonaws.com'; tokens for a different audience are refused with 'Incorrect token audience'",
    )


def test_duplicate_role_names():
    def change(raw):
        raw["spoke"]["roles"].append(dict(raw["spoke"]["roles"][0], name="Spoke-Account-Role"))
    assert errors_for(change) == [
        "f.yaml: spoke.roles[1].name: 'Spoke-Account-Role' duplicates spoke.roles[0].name (IAM role names are unique per account, ignoring case); rename one"]


@pytest.mark.parametrize("change, message", [
    (set_path("hub.issuer", "https://x"), "f.yaml: hub.issuer: unknown key; did you mean 'issuer_url'? (allowed here: issuer_url, account_id, lookup_access)"),
    (role0(service_acounts=["a:b"]), "f.yaml: spoke.roles[0].service_acounts: unknown key; did you mean 'service_accounts'? (allowed here: name, service_accounts, audience, managed_policy_arns, inline_policy, permissions_boundary_arn, max_session_duration, tags, description, acknowledgements)"),
    (set_path("spoke.provider.mode", "exist"), "f.yaml: spoke.provider.mode: 'exist' is not one of create | existing | adopt; did you mean 'existing'?"),
    (set_path("thumbprint.source", "TLS"), "f.yaml: thumbprint.source: 'TLS' is not one of hub | tls | static | none"),
    (role0(tags={"bad#key!": "x"}), "f.yaml: spoke.roles[0].tags.bad#key!: is not a valid tag key; use 1 to 128 letters, digits, spaces and _.:/=+-@, not starting with 'aws:'"),
    (role0(description="caf\u00e9 \u2603"), "f.yaml: spoke.roles[0].description: must be a string of at most 1000 characters from Latin-1 (IAM's limit); remove other characters"),
    (role0(max_session_duration="3600"), "f.yaml: spoke.roles[0].max_session_duration: '3600' is not a whole number of seconds; write e.g. 3600, without quotes"),
    (role0(max_session_duration=60), "f.yaml: spoke.roles[0].max_session_duration: 60 is out of range; give whole seconds from 3600 (1 h) to 43200 (12 h)"),
    (role0(managed_policy_arns=["ReadOnlyAccess"]), "f.yaml: spoke.roles[0].managed_policy_arns[0]: 'ReadOnlyAccess' is not an IAM policy ARN; expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::<account>:policy/NAME"),
    (role0(name="bad name"), "f.yaml: spoke.roles[0].name: 'bad name' is not a valid IAM role name; use 1 to 64 letters, digits and +=,.@_-"),
    (role0(inline_policy={"Statement": [{"Effect": "allow", "Action": "s3:GetObject"}]}), "f.yaml: spoke.roles[0].inline_policy: Statement[0].Effect must be Allow or Deny, got 'allow'; Statement[0] needs Resource or NotResource"),
    (role0(tags={"aws:owner": "x"}), "f.yaml: spoke.roles[0].tags.aws:owner: is not a valid tag key; use 1 to 128 letters, digits, spaces and _.:/=+-@, not starting with 'aws:'"),
    (set_path("spoke.region", "us-east"), "f.yaml: spoke.region: 'us-east' is not an AWS region name; e.g. us-east-2"),
    (set_path("spoke.roles", []), "f.yaml: spoke.roles: is empty; list at least one role with name and service_accounts"),
    (role0(acknowledgements=[{"id": "AwsSolutions-IAM4", "reason": "ok"}]), "f.yaml: spoke.roles[0].acknowledgements[0].reason: 'ok' is too short; say in a sentence why the finding is accepted (security reviewers read it)"),
])
def test_other_bad_input(change, message):
    assert errors_for(change) == [message]


def test_all_problems_are_reported_in_one_pass():
    def change(raw):
        raw["hub"]["issuer_url"] = "http://x.example.com"
        raw["hub"]["account_id"] = "1"
        raw["spoke"]["roles"][0]["service_accounts"] = ["*"]
    errors = errors_for(change)
    assert [e.split(":")[1].strip() for e in errors] == ["hub.issuer_url", "hub.account_id", "spoke.roles[0].service_accounts[0]"]


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(missing)
    assert info.value.errors == [f"{missing}: config file not found; pass -c config=PATH to a federation YAML file (the bundled example is config/example.yaml)"]


def test_invalid_yaml_and_duplicate_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    assert file_errors(bad, "hub:\n  issuer_url: https://a.example.com\n  issuer_url: https://b.example.com\n") == [
        f"{bad}: line 3, column 3: not valid YAML: key 'issuer_url' is given twice in one mapping; keep one"]
    assert file_errors(bad, "hub: [unclosed\n")[0].startswith(f"{bad}: line 2, column 1: not valid YAML: ")


def file_errors(path, text: str) -> list[str]:
    """The errors load_config reports for a file holding ``text``."""
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.errors


def test_top_level_that_is_not_a_mapping(tmp_path):
    bad = tmp_path / "list.yaml"
    assert file_errors(bad, "- a\n- b\n") == [
        f"{bad}: (top level): expected a mapping with keys hub, thumbprint, spoke, stackset, got list \"['a', 'b']\""]


def test_a_misspelt_section_is_one_error_not_two():
    def change(raw):
        raw["hubb"] = raw.pop("hub")
    assert errors_for(change) == ["f.yaml: hubb: unknown key; did you mean 'hub'? (allowed here: hub, thumbprint, spoke, stackset)"]


def test_a_string_where_a_list_belongs_is_one_error():
    assert errors_for(role0(service_accounts="my-app:default")) == [
        "f.yaml: spoke.roles[0].service_accounts: expected a list, got 'my-app:default'; write it as [a, b] or one '- item' per line"]


def test_yaml_merge_keys_work(tmp_path):
    text = EXAMPLE_CONFIG.read_text().replace(
        "  roles:\n    - name: spoke-account-role\n",
        "  roles:\n    - &base\n      name: spoke-account-role\n") + (
        "    - <<: *base\n      name: second-role\n      service_accounts: [\"team-b:builder\"]\n")
    path = tmp_path / "merge.yaml"
    path.write_text(text)
    roles = load_config(path).spoke.roles
    assert [r.name for r in roles] == ["spoke-account-role", "second-role"]
    assert roles[1].audience == "sts.amazonaws.com" and roles[1].service_accounts[0].namespace == "team-b"


def test_unquoted_date_as_lookup_revision(tmp_path):
    path = tmp_path / "rev.yaml"
    path.write_text(EXAMPLE_CONFIG.read_text().replace(
        '  source: static\n  values: ["a053375bfe84e8b748782c7cee15827a6af5a405"]', "  source: tls\n  lookup_revision: 2026-12-03"))
    assert load_config(path).thumbprint.lookup_revision == "2026-12-03"


def test_create_in_the_hub_account_warns():
    # CASES.md 5: the hub account always has the provider; create would fail with EntityAlreadyExists.
    raw = example_raw()
    raw["spoke"]["account_id"] = raw["hub"]["account_id"]
    assert parse_config(raw, source="f.yaml").warnings == (
        "f.yaml: spoke.provider.mode: create in the hub account itself, which always has a provider for its issuer: "
        "the deploy would fail with EntityAlreadyExists; use mode: existing or adopt",)


def test_china_sts_audience_is_not_a_typo():
    raw = example_raw()
    raw["spoke"]["provider"]["client_ids"] = ["sts.amazonaws.com.cn"]
    raw["spoke"]["roles"][0]["audience"] = "sts.amazonaws.com.cn"
    assert parse_config(raw).warnings == ()


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.yaml"
    assert file_errors(empty, "# nothing yet\n") == [f"{empty}: the file is empty; start from config/example.yaml"]


def test_missing_sections_are_named_once():
    with pytest.raises(ConfigError) as info:
        parse_config({"hub": None}, source="f.yaml")
    assert info.value.errors == ["f.yaml: hub: is required", "f.yaml: thumbprint: is required", "f.yaml: spoke: is required"]


def test_unknown_region_warns_with_a_near_match():
    raw = example_raw()
    raw["spoke"]["region"] = "us-east-9"
    (warning,) = parse_config(raw, source="f.yaml").warnings
    assert warning.startswith("f.yaml: spoke.region: 'us-east-9' is not a region botocore ")
    assert warning.endswith("knows; did you mean 'us-east-1'?") or warning.endswith("knows; did you mean 'us-east-2'?")
