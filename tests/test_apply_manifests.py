"""scripts/apply_manifests.py: rendered manifests (validated against Kubernetes' own schemas),
the admission rules they must pass, and every bad input refused before anything runs.

The cluster side (apply, verify, cleanup against a recording fake kubectl) is in
test_apply_manifests_kubectl.py; both use the helpers defined here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from oidc_federation import kube_manifests as km
from oidc_federation import validation as v
from oidc_federation.kubernetes import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"
SCRIPT = ROOT / "scripts" / "apply_manifests.py"
ACCOUNT = "222222222222"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/spoke-account-role"
ISSUER = "https://oidc.op1.openshiftapps.com/abc123"
K8S_VERSION = kubernetes_validate.utils.latest_version()  # the newest release the pinned package ships


# --- helpers shared with test_apply_manifests_kubectl.py ---------------------------------------


def example_config() -> dict:
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


def write_config(directory: Path, raw: dict | None = None) -> Path:
    path = directory / "federation.yaml"
    path.write_text(yaml.safe_dump(raw if raw is not None else example_config(), sort_keys=False))
    return path


def two_role_config() -> dict:
    raw = example_config()
    raw["spoke"]["roles"].append({"name": "spoke-reader", "service_accounts": ["reports:reader", "reports:auditor"]})
    return raw


def write_outputs(directory: Path, outputs: dict | None = None, stack: str = "SpokeStack") -> Path:
    """An outputs file as `cdk deploy SpokeStack --outputs-file` writes it (keys as the stack names them)."""
    if outputs is None:
        outputs = {
            "ProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.op1.openshiftapps.com/abc123",
            "Issuer": ISSUER,
            "RoleArnSpokeAccountRole": ROLE_ARN,
            "RoleArnSpokeReader": f"arn:aws:iam::{ACCOUNT}:role/spoke-reader",
        }
    path = directory / "outputs.json"
    path.write_text(json.dumps({stack: outputs}, indent=2))
    return path


FAKE_KUBECTL = r'''#!{python}
"""A recording stand-in for kubectl: logs argv and stdin, answers from scenario.json."""
import json, os, sys
here = {here!r}
argv = sys.argv[1:]
stdin = sys.stdin.read()
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": argv, "stdin": stdin}}) + "\n")
with open(os.path.join(here, "scenario.json")) as f:
    scenario = json.load(f)
state_path = os.path.join(here, "state.json")
state = json.load(open(state_path)) if os.path.exists(state_path) else {{}}

def matches(pattern):
    rest = iter(argv)
    return all(any(token == arg for arg in rest) for token in pattern)

for i, rule in enumerate(scenario):
    if matches(rule["match"]):
        count = state.get(str(i), 0)
        reply = rule["replies"][min(count, len(rule["replies"]) - 1)]
        state[str(i)] = count + 1
        with open(state_path, "w") as f:
            json.dump(state, f)
        sys.stdout.write(reply.get("stdout", ""))
        sys.stderr.write(reply.get("stderr", ""))
        sys.exit(reply.get("rc", 0))
'''


class FakeKubectl:
    """A real executable in ``directory`` that records every call; ``on()`` scripts its answers.

    A rule matches when its tokens appear in the call's argv in order; successive matching calls
    take successive replies, the last one repeating. Unmatched calls succeed with no output.
    """

    def __init__(self, directory: Path, name: str = "kubectl"):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / name
        self.path.write_text(FAKE_KUBECTL.format(python=sys.executable, here=str(directory)))
        self.path.chmod(0o755)
        self.rules: list[dict] = []
        self._save()

    def _save(self) -> None:
        (self.directory / "scenario.json").write_text(json.dumps(self.rules))

    def on(self, *match: str, stdout="", stderr: str = "", rc: int = 0, replies: list[dict] | None = None) -> FakeKubectl:
        if replies is None:
            replies = [{"stdout": stdout, "stderr": stderr, "rc": rc}]
        for reply in replies:
            if not isinstance(reply.get("stdout", ""), str):
                reply["stdout"] = json.dumps(reply["stdout"])
        self.rules.append({"match": list(match), "replies": replies})
        self._save()
        return self

    @property
    def calls(self) -> list[dict]:
        log = self.directory / "calls.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    @property
    def argvs(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def files(tmp_path):
    """The example config and a matching outputs file."""
    return {"config": str(write_config(tmp_path)), "outputs": str(write_outputs(tmp_path))}


def inputs(files: dict) -> list[str]:
    return ["--config", files["config"], "--outputs", files["outputs"]]


def render_docs(capsys, files: dict, *extra: str) -> list[dict]:
    code, out, err = run(capsys, "render", *inputs(files), *extra)
    assert code == 0, err
    return [doc for doc in yaml.safe_load_all(out) if doc is not None]


# --- rendering ----------------------------------------------------------------------------------

# ProjectRequest is OpenShift's (project.openshift.io/v1) and not in Kubernetes' schemas: checked
# against this schema of its fields as `oc new-project` sends them.
PROJECT_REQUEST_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "project.openshift.io/v1"},
        "kind": {"const": "ProjectRequest"},
        "metadata": {
            "type": "object", "required": ["name"], "additionalProperties": False,
            "properties": {"name": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}},
        },
        "displayName": {"type": "string"},
        "description": {"type": "string"},
    },
}


def validate(doc: dict) -> None:
    if doc["kind"] == "ProjectRequest":
        jsonschema.validate(doc, PROJECT_REQUEST_SCHEMA)
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


MODES = {
    "plain": [],
    "openshift": ["--openshift"],
    "projected-token": ["--projected-token"],
    "projected-token-openshift": ["--projected-token", "--openshift", "--token-expiration", "7200"],
    "audience": ["--audience", "openshift"],
    "token-expiration": ["--token-expiration", "3600"],
    "annotation": ["--annotation", "example.com/owner=team-a"],
}


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_renders_objects_that_kubernetes_schemas_accept(capsys, files, mode):
    docs = render_docs(capsys, files, *MODES[mode])
    assert [d["kind"] for d in docs] == ["ProjectRequest" if "--openshift" in MODES[mode] else "Namespace",
                                         "ServiceAccount", "Pod"]
    for doc in docs:
        validate(doc)
    assert K8S_VERSION == "1.37.0"


def test_all_roles_renders_each_namespace_once_and_every_service_account(capsys, tmp_path):
    files = {"config": str(write_config(tmp_path, two_role_config())), "outputs": str(write_outputs(tmp_path))}
    docs = render_docs(capsys, files, "--all-roles")
    for doc in docs:
        validate(doc)
    assert [(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs] == [
        ("Namespace", "", "my-application-ca"),
        ("Namespace", "", "reports"),
        ("ServiceAccount", "my-application-ca", "default"),
        ("ServiceAccount", "reports", "reader"),
        ("ServiceAccount", "reports", "auditor"),
        ("Pod", "my-application-ca", "oidc-federation-test-default"),
        ("Pod", "reports", "oidc-federation-test-reader"),
        ("Pod", "reports", "oidc-federation-test-auditor"),
    ]
    arns = {d["metadata"]["name"]: d["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            for d in docs if d["kind"] == "ServiceAccount"}
    assert arns == {"default": ROLE_ARN, "reader": f"arn:aws:iam::{ACCOUNT}:role/spoke-reader",
                    "auditor": f"arn:aws:iam::{ACCOUNT}:role/spoke-reader"}


def test_service_account_carries_the_webhook_annotations_read_from_the_outputs_file(capsys, files):
    # Case 12: the exact key, and the ARN taken from the deployed stack, not typed by hand.
    sa = render_docs(capsys, files)[1]
    assert sa["metadata"] == {
        "name": "default",
        "namespace": "my-application-ca",
        "labels": {"app.kubernetes.io/managed-by": "spoke-oidc-federation"},
        "annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN, "eks.amazonaws.com/sts-regional-endpoints": "true"},
    }


def test_audience_and_token_expiration_annotations_only_when_asked(capsys, files):
    sa = render_docs(capsys, files, "--audience", "openshift", "--token-expiration", "7200",
                     "--annotation", "example.com/owner=team-a")[1]
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": ROLE_ARN,
        "eks.amazonaws.com/audience": "openshift",
        "eks.amazonaws.com/sts-regional-endpoints": "true",
        "eks.amazonaws.com/token-expiration": "7200",
        "example.com/owner": "team-a",
    }


def test_pod_records_its_role_and_runs_the_pinned_cli_with_the_spoke_region(capsys, files):
    pod = render_docs(capsys, files)[2]
    assert pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "spoke-oidc-federation"
    assert pod["metadata"]["annotations"]["spoke-oidc-federation/role-arn"] == ROLE_ARN
    assert pod["metadata"]["annotations"]["spoke-oidc-federation/audience"] == "sts.amazonaws.com"
    container = pod["spec"]["containers"][0]
    assert container["image"] == "public.ecr.aws/aws-cli/aws-cli:2.37.10"
    assert container["command"] == ["sleep", "3600"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-2"
    assert env["HOME"] == "/home/aws-cli"
    assert {"name": "home", "mountPath": "/home/aws-cli"} in container["volumeMounts"]
    assert {"name": "home", "emptyDir": {"sizeLimit": "64Mi"}} in pod["spec"]["volumes"]
    assert "AWS_ROLE_ARN" not in env  # the webhook injects it from the service account
    assert container["resources"] == {"requests": {"cpu": "10m", "memory": "64Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}}


def test_projected_token_mode_mounts_the_token_itself_and_leaves_the_service_account_unannotated(capsys, files):
    sa, pod = render_docs(capsys, files, "--projected-token", "--token-expiration", "7200")[1:]
    assert "annotations" not in sa["metadata"]
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AWS_ROLE_ARN"] == ROLE_ARN
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"
    assert env["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
    assert {"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount",
            "readOnly": True} in container["volumeMounts"]
    assert {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
        "audience": "sts.amazonaws.com", "expirationSeconds": 7200, "path": "token"}}]}} in pod["spec"]["volumes"]


def test_openshift_mode_asks_for_a_project_as_oc_new_project_does(capsys, files):
    project = render_docs(capsys, files, "--openshift")[0]
    assert project == {
        "apiVersion": "project.openshift.io/v1",
        "kind": "ProjectRequest",
        "metadata": {"name": "my-application-ca"},
        "displayName": "my-application-ca (OIDC federation test)",
        "description": km.PROJECT_DESCRIPTION,
    }


# OpenShift's restricted-v2 SCC (cluster-kube-apiserver-operator, scc-restricted-v2.yaml): the
# rules a pod of a normal project must meet. Kubernetes' Pod Security "restricted" level adds a
# non-zero runAsUser where the image would run as root.
RESTRICTED_V2_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                         "persistentVolumeClaim", "projected", "secret"}


def restricted_v2_violations(pod: dict) -> list[str]:
    spec = pod["spec"]
    problems = []
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host):
            problems.append(host)
    pod_sc = spec.get("securityContext") or {}
    if "runAsUser" in pod_sc or "fsGroup" in pod_sc:
        problems.append("pod sets a fixed UID/fsGroup (MustRunAsRange/MustRunAs assign them)")
    for volume in spec.get("volumes") or []:
        kind = next(k for k in volume if k != "name")
        if kind not in RESTRICTED_V2_VOLUMES:
            problems.append(f"volume type {kind}")
    for c in spec["containers"]:
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append("privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation not false")
        if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
            problems.append("capabilities not dropped")
        if set((sc.get("capabilities") or {}).get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append("capabilities added")
        if "runAsUser" in sc:
            problems.append("container sets a fixed UID")
        profile = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if profile not in (None, "RuntimeDefault"):
            problems.append(f"seccomp {profile}")
        if c.get("ports") and any(p.get("hostPort") for p in c["ports"]):
            problems.append("hostPort")
    return problems


def pod_security_restricted_violations(pod: dict) -> list[str]:
    spec = pod["spec"]
    pod_sc = spec.get("securityContext") or {}
    problems = []
    for c in spec["containers"]:
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") or pod_sc.get("runAsNonRoot")):
            problems.append("runAsNonRoot")
        if (sc.get("runAsUser") or pod_sc.get("runAsUser")) == 0:
            problems.append("runAsUser 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append("allowPrivilegeEscalation")
        if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
            problems.append("drop ALL")
        if (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
            problems.append("seccompProfile")
    return problems


@pytest.mark.parametrize("extra", [[], ["--projected-token"]])
def test_openshift_pod_is_admitted_by_restricted_v2_and_pod_security_restricted(capsys, files, extra):
    pod = render_docs(capsys, files, "--openshift", *extra)[2]
    assert restricted_v2_violations(pod) == []
    assert pod_security_restricted_violations(pod) == []
    assert pod["spec"]["securityContext"] == {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def test_plain_pod_runs_as_a_fixed_non_root_uid_because_the_cli_image_is_root(capsys, files):
    pod = render_docs(capsys, files)[2]
    assert pod_security_restricted_violations(pod) == []
    assert pod["spec"]["securityContext"] == {
        "runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"},
        "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532}
    assert restricted_v2_violations(pod) == ["pod sets a fixed UID/fsGroup (MustRunAsRange/MustRunAs assign them)"]


def test_render_writes_the_output_file_with_a_header(capsys, files, tmp_path):
    out = tmp_path / "manifests.yaml"
    code, stdout, err = run(capsys, "render", *inputs(files), "--openshift", "--output", str(out))
    assert (code, stdout) == (0, "")
    assert err == f"apply_manifests: wrote 3 manifests to {out}\n"
    text = out.read_text()
    assert text.startswith(f"# Rendered by scripts/apply_manifests.py from {files['config']} and {files['outputs']} (stack SpokeStack).\n"
                           f"# my-application-ca:default: role {ROLE_ARN}, audience sts.amazonaws.com, region us-east-2\n"
                           "# A ProjectRequest can be created (oc create -f), not applied;")
    assert len(list(yaml.safe_load_all(text))) == 3


def test_role_arn_is_found_by_value_whatever_the_output_keys(capsys, tmp_path):
    outputs = write_outputs(tmp_path, {"Whatever1": "https://example.com", "Zz": ROLE_ARN,
                                       "Other": f"arn:aws:iam::{ACCOUNT}:role/path/other-role"})
    files = {"config": str(write_config(tmp_path)), "outputs": str(outputs)}
    sa = render_docs(capsys, files)[1]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE_ARN


def test_role_arn_flag_needs_no_outputs_file(capsys, tmp_path):
    files = {"config": str(write_config(tmp_path)), "outputs": str(tmp_path / "absent.json")}
    sa = render_docs(capsys, files, "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/team/spoke-account-role")[1]
    assert sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::{ACCOUNT}:role/team/spoke-account-role"


def test_long_service_account_names_give_valid_pod_names():
    name = km.pod_name("a" * 253)
    assert len(name) == 253 and v.DNS1123_SUBDOMAIN.match(name)
    assert km.pod_name("default") == "oidc-federation-test-default"


# --- bad input: one line, the right exit code, nothing run --------------------------------------

WRONG_ACCOUNT_OUTPUTS = {"RoleArnSpokeAccountRole": "arn:aws:iam::333333333333:role/spoke-account-role"}

BAD_INPUTS = [
    # (id, extra argv, outputs (None: the good file; "missing": no file), exit code, message after "error: ")
    ("role-arn-extra-colon", ["--role-arn", f"arn:aws:iam:::{ACCOUNT}:role/spoke-account-role"], None, 2,
     f"--role-arn: 'arn:aws:iam:::{ACCOUNT}:role/spoke-account-role' is not an IAM role ARN; expected "
     "arn:aws:iam::<12-digit account>:role/<name> (it has 6 ':' where a role ARN has 5 (an extra ':'); "
     f"did you mean 'arn:aws:iam::{ACCOUNT}:role/spoke-account-role'?)"),
    ("role-arn-assumed-role", ["--role-arn", f"arn:aws:sts::{ACCOUNT}:assumed-role/spoke-account-role/botocore-session-1"], None, 2,
     f"--role-arn: 'arn:aws:sts::{ACCOUNT}:assumed-role/spoke-account-role/botocore-session-1' is not an IAM role ARN; "
     "expected arn:aws:iam::<12-digit account>:role/<name> (it is an STS session (assumed-role) ARN, not the role's own "
     f"ARN; did you mean 'arn:aws:iam::{ACCOUNT}:role/spoke-account-role'?)"),
    ("role-arn-sts-service", ["--role-arn", f"arn:aws:sts::{ACCOUNT}:role/spoke-account-role"], None, 2,
     f"--role-arn: 'arn:aws:sts::{ACCOUNT}:role/spoke-account-role' is not an IAM role ARN; expected "
     "arn:aws:iam::<12-digit account>:role/<name> (its service is 'sts'; a role ARN says 'iam'; "
     f"did you mean 'arn:aws:iam::{ACCOUNT}:role/spoke-account-role'?)"),
    ("role-arn-short-account", ["--role-arn", "arn:aws:iam::22222222222:role/spoke-account-role"], None, 2,
     "--role-arn: 'arn:aws:iam::22222222222:role/spoke-account-role' is not an IAM role ARN; expected "
     "arn:aws:iam::<12-digit account>:role/<name> (its account '22222222222' has 11 digits; an account id has exactly 12)"),
    ("role-arn-other-account", ["--role-arn", "arn:aws:iam::333333333333:role/spoke-account-role"], None, 2,
     "role ARN 'arn:aws:iam::333333333333:role/spoke-account-role' from --role-arn is in account 333333333333, but "
     "spoke.account_id in {config} is 222222222222; use the spoke account's role (deploy there) or fix spoke.account_id"),
    ("outputs-other-account", [], WRONG_ACCOUNT_OUTPUTS, 1,
     "role ARN 'arn:aws:iam::333333333333:role/spoke-account-role' from {outputs} (stack SpokeStack) is in account "
     "333333333333, but spoke.account_id in {config} is 222222222222; use the spoke account's role (deploy there) or fix spoke.account_id"),
    ("annotation-key-typo", ["--annotation", f"eks.amazon.com/role-arn={ROLE_ARN}"], None, 2,
     "--annotation: key 'eks.amazon.com/role-arn' is not one the pod identity webhook reads, so it would silently inject "
     "nothing; did you mean 'eks.amazonaws.com/role-arn'? (set by this script: use --role-arn (or the outputs file))"),
    ("annotation-audience-typo", ["--annotation", "eks.amazonaws.com/audiences=sts.amazonaws.com"], None, 2,
     "--annotation: key 'eks.amazonaws.com/audiences' is not one the pod identity webhook reads, so it would silently "
     "inject nothing; did you mean 'eks.amazonaws.com/audience'? (set by this script: use --audience)"),
    ("annotation-regional-typo", ["--annotation", "eks.amazonaws.com/sts-regional-endpoint=true"], None, 2,
     "--annotation: key 'eks.amazonaws.com/sts-regional-endpoint' is not one the pod identity webhook reads, so it would "
     "silently inject nothing; did you mean 'eks.amazonaws.com/sts-regional-endpoints'? (set by this script: use nothing "
     "(it is always \"true\"))"),
    ("annotation-expiration-typo", ["--annotation", "eks.amazonaws.com/token-expiraton=3600"], None, 2,
     "--annotation: key 'eks.amazonaws.com/token-expiraton' is not one the pod identity webhook reads, so it would "
     "silently inject nothing; did you mean 'eks.amazonaws.com/token-expiration'? (set by this script: use --token-expiration)"),
    ("annotation-exact-webhook-key", ["--annotation", f"eks.amazonaws.com/role-arn={ROLE_ARN}"], None, 2,
     "--annotation: 'eks.amazonaws.com/role-arn' is set by this script; use --role-arn (or the outputs file)"),
    ("annotation-not-key-value", ["--annotation", "example.com/owner"], None, 2,
     "--annotation: 'example.com/owner' is not KEY=VALUE; write e.g. --annotation example.com/owner=team-a"),
    ("annotation-bad-key", ["--annotation", "Example.com/owner=x"], None, 2,
     "--annotation: annotation key 'Example.com/owner' has prefix 'Example.com', which is not a lower-case DNS "
     "subdomain; e.g. example.com/owner"),
    ("namespace", ["--namespace", "My_App"], None, 2,
     "--namespace: namespace 'My_App' is not a valid Kubernetes namespace; use lower-case letters, digits and '-', "
     "at most 63, starting and ending alphanumeric"),
    ("namespace-too-long", ["--namespace", "a" * 64], None, 2,
     f"--namespace: namespace '{'a' * 64}' is not a valid Kubernetes namespace; use lower-case letters, digits and '-', "
     "at most 63, starting and ending alphanumeric"),
    ("service-account", ["--service-account", "App:Reader"], None, 2,
     "--service-account: service account name 'App:Reader' is not valid in Kubernetes; use lower-case letters, digits, "
     "'-' and '.', at most 253"),
    ("region", ["--region", "us-east"], None, 2, "--region: 'us-east' is not an AWS region name; e.g. us-east-2"),
    ("audience", ["--audience", "sts amazonaws com"], None, 2,
     "--audience: 'sts amazonaws com' is not an audience; give a non-empty client ID without spaces, e.g. sts.amazonaws.com"),
    ("unknown-role", ["--role", "spoke-acount-role"], None, 2,
     "--role: 'spoke-acount-role' is not a role in {config} (roles: spoke-account-role); did you mean 'spoke-account-role'?"),
    ("all-roles-with-role", ["--all-roles", "--role", "spoke-account-role"], None, 2,
     "--all-roles tests every role and service account of the config; drop --role or choose one role with --role"),
    ("token-expiration", ["--token-expiration", "60"], None, 2,
     "argument --token-expiration: 60 is out of range; use 600 (Kubernetes' minimum) to 86400 (24 h) "
     "(see apply_manifests apply --help)"),
    ("outputs-missing", [], "missing", 1,
     "outputs file '{outputs}' not found; deploy with `scripts/cdk deploy SpokeStack --outputs-file {outputs}` first, "
     "pass --outputs FILE, or give --role-arn ARN"),
    ("stack-missing", ["--stack", "SpokeStackProd"], None, 1,
     "{outputs} has no stack 'SpokeStackProd' (stacks in it: SpokeStack); pass --stack SpokeStack, or deploy it with "
     "`scripts/cdk deploy SpokeStackProd --outputs-file {outputs}`"),
    ("role-missing-from-stack", [], {"ProviderArn": "x", "RoleArnOther": f"arn:aws:iam::{ACCOUNT}:role/other"}, 1,
     "stack 'SpokeStack' in {outputs} has no output with the ARN of role 'spoke-account-role' (role ARNs in it: "
     f"arn:aws:iam::{ACCOUNT}:role/other); deploy the current config with `scripts/cdk deploy SpokeStack "
     "--outputs-file {outputs}` or pass --role-arn"),
    ("unknown-flag", ["--rolearn", ROLE_ARN], None, 2,
     "unrecognized arguments: --rolearn " + ROLE_ARN + " (see apply_manifests --help)"),
]


@pytest.mark.parametrize("name,extra,outputs,code,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_one_line_and_nothing_runs(capsys, tmp_path, name, extra, outputs, code, message):
    # Case 12: a typo in the key, an ARN with an extra colon: refused before anything is applied.
    config = write_config(tmp_path)
    if outputs == "missing":
        outputs_path = tmp_path / "outputs.json"
    else:
        outputs_path = write_outputs(tmp_path, outputs)
    fake = FakeKubectl(tmp_path / "bin")
    result, out, err = run(capsys, "apply", "--config", str(config), "--outputs", str(outputs_path),
                           "--kubectl", str(fake.path), *extra)
    expected = "apply_manifests: error: " + message.format(config=config, outputs=outputs_path) + "\n"
    assert (result, out, err) == (code, "", expected)
    assert fake.calls == []


def test_several_roles_and_none_chosen(capsys, tmp_path):
    config = write_config(tmp_path, two_role_config())
    code, out, err = run(capsys, "render", "--config", str(config), "--outputs", str(write_outputs(tmp_path)))
    assert (code, out) == (2, "")
    assert err == (f"apply_manifests: error: {config} has 2 roles (spoke-account-role, spoke-reader); choose one with "
                   "--role NAME or test all with --all-roles\n")


def test_one_service_account_under_two_roles_is_refused_with_all_roles(capsys, tmp_path):
    raw = two_role_config()
    raw["spoke"]["roles"][1]["service_accounts"] = ["my-application-ca:default"]
    config = write_config(tmp_path, raw)
    code, out, err = run(capsys, "render", "--config", str(config), "--outputs", str(write_outputs(tmp_path)), "--all-roles")
    assert (code, out) == (2, "")
    assert err == ("apply_manifests: error: service account my-application-ca:default is trusted by roles spoke-account-role "
                   "and spoke-reader, but it carries one eks.amazonaws.com/role-arn; test them one at a time with --role\n")


def test_invalid_config_reports_each_problem(capsys, tmp_path):
    raw = example_config()
    raw["hub"]["issuer_url"] = ISSUER + "/"
    config = write_config(tmp_path, raw)
    code, out, err = run(capsys, "render", "--config", str(config), "--outputs", str(write_outputs(tmp_path)))
    assert (code, out) == (1, "")
    assert err.startswith(f"apply_manifests: error: {config}: hub.issuer_url: '{ISSUER}/' ends with '/'")
    assert err.count("\n") == 1


def test_missing_region_is_a_usage_error(capsys, tmp_path):
    raw = example_config()
    del raw["spoke"]["region"]
    config = write_config(tmp_path, raw)
    code, _, err = run(capsys, "render", "--config", str(config), "--outputs", str(write_outputs(tmp_path)))
    assert code == 2
    assert err == (f"apply_manifests: error: no region for the pod's AWS_REGION: set spoke.region in {config} or pass "
                   "--region REGION\n")


def test_kubectl_that_is_not_executable(capsys, files, tmp_path):
    code, _, err = run(capsys, "apply", *inputs(files), "--kubectl", str(tmp_path / "nope" / "kubectl"))
    assert code == 1
    assert err == (f"apply_manifests: error: --kubectl: {tmp_path / 'nope' / 'kubectl'} is not an executable file; "
                   "give the path of oc or kubectl\n")


def test_no_kubectl_on_path(capsys, files, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, err = run(capsys, "verify", *inputs(files))
    assert code == 1
    assert err == ("apply_manifests: error: neither oc nor kubectl is on PATH; install one (oc for OpenShift) or "
                   "pass --kubectl PATH\n")


def test_debug_shows_the_traceback(capsys, files):
    code, _, err = run(capsys, "render", *inputs(files), "--region", "nowhere", "--debug")
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert err.endswith("apply_manifests: error: --region: 'nowhere' is not an AWS region name; e.g. us-east-2\n")


def test_warnings_for_an_audience_the_provider_does_not_list(capsys, files):
    code, _, err = run(capsys, "render", *inputs(files), "--audience", "sts.amazon.com")
    assert code == 0
    assert err == ("apply_manifests: warning: --audience: 'sts.amazon.com' looks like a typo of 'sts.amazonaws.com'; "
                   "tokens for a different audience are refused with 'Incorrect token audience'\n"
                   "apply_manifests: warning: --audience 'sts.amazon.com' is not one of spoke.provider.client_ids "
                   "['sts.amazonaws.com']; STS will refuse the token ('Incorrect token audience')\n")


# --- the validation helpers this script added ---------------------------------------------------

@pytest.mark.parametrize("key,expected", [
    ("eks.amazon.com/role-arn", "eks.amazonaws.com/role-arn"),  # case 12: "aws" missing, 3 edits, all in the prefix
    ("eks.amazonaws.com/role-arm", "eks.amazonaws.com/role-arn"),
    ("eks.amazonaws.com/role_arn", "eks.amazonaws.com/role-arn"),
    ("EKS.amazonaws.com/role-arn", "eks.amazonaws.com/role-arn"),
    ("amazonaws.com/role-arn", "eks.amazonaws.com/role-arn"),
    ("eks.amazonaws.com/audiences", "eks.amazonaws.com/audience"),
    ("eks.amazonaws.com/role-arn", None),
    ("eks.amazonaws.com/skip-containers", None),
    ("iam.amazonaws.com/role", None),  # kube2iam's own annotation
    ("example.com/owner", None),
])
def test_webhook_annotation_near_misses(key, expected):
    assert v.webhook_annotation_near_miss(key) == expected


@pytest.mark.parametrize("a,b,distance", [("", "abc", 3), ("kitten", "sitting", 3), ("same", "same", 0),
                                          ("eks.amazon.com", "eks.amazonaws.com", 3)])
def test_edit_distance(a, b, distance):
    assert v.edit_distance(a, b) == distance


@pytest.mark.parametrize("arn,problem", [
    (f"arn:aws:iam::{ACCOUNT}::role/x", f"it has 6 ':' where a role ARN has 5 (an extra ':'); did you mean 'arn:aws:iam::{ACCOUNT}:role/x'?"),
    (f"arn:aws:iam:us-east-1:{ACCOUNT}:role/x", "IAM ARNs have no region; remove 'us-east-1'"),
    (f"arn:aws:iam::{ACCOUNT}:user/x", "its resource 'user/x' is not role/NAME"),
    (f"arn:aws:s3::{ACCOUNT}:role/x", f"its service is 's3'; a role ARN says 'iam'; did you mean 'arn:aws:iam::{ACCOUNT}:role/x'?"),
    (f"arn:aws:s3::{ACCOUNT}:bucket", "its service is 's3'; a role ARN says 'iam'"),
    ("role/x", "an IAM role ARN has six ':'-separated fields: arn:PARTITION:iam::ACCOUNT:role/NAME"),
    (ROLE_ARN, None),
])
def test_role_arn_problems(arn, problem):
    assert v.role_arn_problem(arn) == problem


# --- the thin entry ----------------------------------------------------------------------------

def test_script_entry_runs_main_and_exits_with_its_code(files):
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run([sys.executable, str(SCRIPT), "render", *inputs(files)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert [d["kind"] for d in yaml.safe_load_all(done.stdout)] == ["Namespace", "ServiceAccount", "Pod"]
    bad = subprocess.run([sys.executable, str(SCRIPT), "render", *inputs(files), "--namespace", "Bad"],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("apply_manifests: error: --namespace: namespace 'Bad'")
