"""scripts/apply_manifests.py: rendered manifests (validated against Kubernetes' own schemas),
the admission rules they must pass, and every bad input refused before anything runs.

The cluster side (apply, verify, cleanup against a recording fake kubectl) is in
test_apply_manifests_kubectl.py; both use the helpers defined here.
"""

from __future__ import annotations

import json
import os
import shutil
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
"""A stand-in for kubectl: logs argv and stdin, answers from scenario.json, and remembers what the
script itself applied, created, annotated and deleted (objects.json), as a cluster would."""
import json, os, sys
here = {here!r}
argv = sys.argv[1:]
stdin = sys.stdin.read()
with open(os.path.join(here, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": argv, "stdin": stdin}}) + "\n")

def load(name, default):
    path = os.path.join(here, name)
    return json.load(open(path)) if os.path.exists(path) else default

def save(name, value):
    with open(os.path.join(here, name), "w") as f:
        json.dump(value, f)

scenario, state, objects = load("scenario.json", []), load("state.json", {{}}), load("objects.json", {{}})
args = argv[2:] if argv[:1] == ["--context"] else argv
KINDS = {{"namespace": "Namespace", "project": "Namespace", "serviceaccount": "ServiceAccount", "pod": "Pod"}}

def matches(pattern, call):
    rest = iter(call)
    return all(any(token == arg for arg in rest) for token in pattern)

def rule_for(call):
    return next(((i, rule) for i, rule in enumerate(scenario) if matches(rule["match"], call)), (None, None))

def reply(i, rule, consume):
    count = state.get(str(i), 0)
    if consume:
        state[str(i)] = count + 1
        save("state.json", state)
    return rule["replies"][min(count, len(rule["replies"]) - 1)]

def key(kind, name, namespace):
    return f"{{KINDS.get(kind, kind)}}/{{namespace}}/{{name}}"

def namespace_arg(call):
    return call[call.index("-n") + 1] if "-n" in call else ""

def current(kind, name, namespace):
    """The object as `get` would show it now: what the script changed, else the scenario's answer."""
    k = key(kind, name, namespace)
    if k in objects:
        return objects[k]
    i, rule = rule_for(["get", kind, name] + (["-n", namespace] if namespace else []) + ["-o", "json", "--ignore-not-found"])
    text = reply(i, rule, consume=False).get("stdout", "") if rule else ""
    return json.loads(text) if text.strip() else None

i, rule = rule_for(argv)
verb = args[0] if args else ""
if verb == "get" and len(args) >= 3:
    k = key(args[1], args[2], namespace_arg(args))
    if k in objects and not (rule and rule.get("override")):
        sys.stdout.write(json.dumps(objects[k]) if objects[k] else "")
        sys.exit(0)
answer = reply(i, rule, consume=True) if rule else {{}}
if answer.get("rc", 0) == 0:
    if verb in ("apply", "create") and "-f" in args:
        import yaml  # only here: most calls are gets, and each call is a new process
        for doc in yaml.safe_load_all(stdin):
            if not doc:
                continue
            if doc["kind"] == "ProjectRequest":
                doc = {{"apiVersion": "v1", "kind": "Namespace", "metadata": {{
                    "name": doc["metadata"]["name"], "annotations": {{"openshift.io/description": doc.get("description", "")}}}}}}
            meta = doc["metadata"]
            before = (current(doc["kind"].lower(), meta["name"], meta.get("namespace", "")) or {{}}).get("metadata") or {{}}
            for field in ("labels", "annotations"):
                merged = {{**(before.get(field) or {{}}), **(meta.get(field) or {{}})}}
                if merged:
                    meta[field] = merged
            objects[key(doc["kind"], meta["name"], meta.get("namespace", ""))] = doc
    elif verb == "annotate":
        kind, name, namespace = args[1], args[2], namespace_arg(args)
        obj = current(kind, name, namespace)
        if obj is not None:
            annotations = obj.setdefault("metadata", {{}}).setdefault("annotations", {{}})
            for pair in args[3:]:
                if "=" in pair:
                    name_, _, value = pair.partition("=")
                    annotations[name_] = value
                elif pair.endswith("-"):
                    annotations.pop(pair[:-1], None)
            objects[key(kind, name, namespace)] = obj
    elif verb == "delete" and len(args) >= 3:
        objects[key(args[1], args[2], namespace_arg(args))] = None
    save("objects.json", objects)
sys.stdout.write(answer.get("stdout", ""))
sys.stderr.write(answer.get("stderr", ""))
sys.exit(answer.get("rc", 0))
'''


class FakeKubectl:
    """A real executable in ``directory`` that records every call; ``on()`` scripts its answers.

    A rule matches when its tokens appear in the call's argv in order; successive matching calls
    take successive replies, the last one repeating. Unmatched calls succeed with no output. What
    the script applies, creates, annotates or deletes is remembered and answers later ``get`` calls
    for that object ahead of the rules, unless the rule was made with ``override=True`` (a cluster
    that does not show the change yet, or changes it back).
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

    def on(self, *match: str, stdout="", stderr: str = "", rc: int = 0, replies: list[dict] | None = None,
           override: bool = False) -> FakeKubectl:
        if replies is None:
            replies = [{"stdout": stdout, "stderr": stderr, "rc": rc}]
        for reply in replies:
            if not isinstance(reply.get("stdout", ""), str):
                reply["stdout"] = json.dumps(reply["stdout"])
        self.rules.append({"match": list(match), "replies": replies, "override": override})
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

    def live(self, kind: str, name: str, namespace: str = "") -> dict | None:
        """An object as the script left it: only what it changed (None once it deleted it)."""
        path = self.directory / "objects.json"
        objects = json.loads(path.read_text()) if path.exists() else {}
        return objects.get(f"{kind}/{namespace}/{name}")


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
    # No ownership label or annotation: a rendered file applied by hand may land on a service
    # account that existed before, and cleanup must not take it for one apply created (item 3).
    assert sa["metadata"] == {
        "name": "default",
        "namespace": "my-application-ca",
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
        # Not PROJECT_DESCRIPTION, which cleanup takes for a project apply created.
        "description": km.RENDERED_PROJECT_DESCRIPTION,
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
    # Item 6: what a pattern alone would let through, or refuse with a misleading reason.
    ("role-arn-trailing-newline", ["--role-arn", ROLE_ARN + "\n"], None, 2,
     f"--role-arn: '{ROLE_ARN}\\n' is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name> "
     f"(it has a line break at position {len(ROLE_ARN) + 1}; remove it)"),
    ("role-arn-non-ascii", ["--role-arn", f"arn:aws:iam::{ACCOUNT}:role/r\u00f4le"], None, 2,
     f"--role-arn: 'arn:aws:iam::{ACCOUNT}:role/r\u00f4le' is not an IAM role ARN; expected arn:aws:iam::<12-digit "
     "account>:role/<name> (it has the non-ASCII character '\u00f4' (U+00F4 LATIN SMALL LETTER O WITH CIRCUMFLEX) at "
     "position 33; AWS identifiers are ASCII)"),
    ("role-arn-fullwidth-digits", ["--role-arn", f"arn:aws:iam::\uff12\uff12{ACCOUNT[2:]}:role/spoke-account-role"], None, 2,
     f"--role-arn: 'arn:aws:iam::\uff12\uff12{ACCOUNT[2:]}:role/spoke-account-role' is not an IAM role ARN; expected "
     "arn:aws:iam::<12-digit account>:role/<name> (it has the non-ASCII character '\uff12' (U+FF12 FULLWIDTH DIGIT TWO) "
     "at position 14; AWS identifiers are ASCII)"),
    ("region-trailing-newline", ["--region", "us-east-2\n"], None, 2,
     "--region: 'us-east-2\\n' is not an AWS region name; e.g. us-east-2"),
    ("image-upper-case", ["--image", "public.ecr.aws/AWS-CLI/aws-cli:2.37.10"], None, 2,
     "--image: 'public.ecr.aws/AWS-CLI/aws-cli:2.37.10' has repository part 'AWS-CLI'; repository parts are lower-case "
     "letters and digits, separated by one '.', '_', '__' or dashes; did you mean 'public.ecr.aws/aws-cli/aws-cli:2.37.10'?"),
    ("image-space", ["--image", "aws-cli :2"], None, 2,
     "--image: 'aws-cli :2' is not an image reference: it has a space at position 8; remove it"),
    ("token-expiration-fullwidth", ["--token-expiration", "\uff13\uff16\uff10\uff10"], None, 2,
     "argument --token-expiration: '\uff13\uff16\uff10\uff10' is not a whole number of seconds (see apply_manifests apply --help)"),
    ("settle-nan", ["--settle", "nan"], None, 2,
     "argument --settle: 'nan' is not a number of seconds; give e.g. 30 or 2.5 (see apply_manifests apply --help)"),
    ("annotation-own-record", ["--annotation", "spoke-oidc-federation/created-by-apply=true"], None, 2,
     "--annotation: 'spoke-oidc-federation/created-by-apply' is one of this script's own records (spoke-oidc-federation/...); "
     "remove it"),
    # Item 4: the cluster's own namespaces, unless --allow-system-namespace.
    ("namespace-kube-system", ["--namespace", "kube-system"], None, 2,
     "--namespace: 'kube-system' is a system namespace (kube-*, openshift, openshift-*): the test would annotate service "
     "accounts the cluster's own pods may use, giving their new pods the spoke role; test in a namespace of your own, or "
     "pass --allow-system-namespace"),
    ("namespace-openshift", ["--namespace", "openshift-monitoring"], None, 2,
     "--namespace: 'openshift-monitoring' is a system namespace (kube-*, openshift, openshift-*): the test would annotate "
     "service accounts the cluster's own pods may use, giving their new pods the spoke role; test in a namespace of your "
     "own, or pass --allow-system-namespace"),
    # Item 7: the file's real problem, named (CASES 12: an ARN with an extra colon, refused before anything runs).
    ("outputs-malformed-arn", [], {"RoleArnSpokeAccountRole": f"arn:aws:iam:::{ACCOUNT}:role/spoke-account-role"}, 1,
     "stack 'SpokeStack' in {outputs} has no valid ARN of role 'spoke-account-role': output RoleArnSpokeAccountRole is "
     f"'arn:aws:iam:::{ACCOUNT}:role/spoke-account-role', which is not an IAM role ARN (it has 6 ':' where a role ARN "
     f"has 5 (an extra ':'); did you mean 'arn:aws:iam::{ACCOUNT}:role/spoke-account-role'?); fix the output (deploy "
     "the current stack with `scripts/cdk deploy SpokeStack --outputs-file {outputs}`) or pass --role-arn"),
    ("outputs-directory", [], "directory", 1,
     "--outputs '{outputs}' is a directory; give the JSON file `scripts/cdk deploy SpokeStack --outputs-file FILE` wrote, "
     "or give --role-arn ARN"),
    ("stack-typo", ["--stack", "SpokeStak"], None, 1,
     "{outputs} has no stack 'SpokeStak' (stacks in it: SpokeStack); did you mean --stack SpokeStack?"),
]


@pytest.mark.parametrize("name,extra,outputs,code,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_one_line_and_nothing_runs(capsys, tmp_path, name, extra, outputs, code, message):
    # Case 12: a typo in the key, an ARN with an extra colon: refused before anything is applied.
    config = write_config(tmp_path)
    if outputs == "missing":
        outputs_path = tmp_path / "outputs.json"
    elif outputs == "directory":
        outputs_path = tmp_path / "deployed"
        outputs_path.mkdir()
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


def test_render_carries_no_ownership_marker_and_says_what_cleanup_removes(capsys, files):
    # Item 3: a rendered file may be applied by hand onto objects that existed before; nothing in it
    # may make cleanup take them for apply's own.
    code, out, err = run(capsys, "render", *inputs(files))
    assert code == 0, err
    namespace, service_account, pod = [d for d in yaml.safe_load_all(out) if d]
    for doc in (namespace, service_account):
        assert "labels" not in doc["metadata"]
        assert km.CREATED_BY_APPLY not in doc["metadata"].get("annotations", {})
        assert not km.created_by_apply(doc)
    assert km.has_our_label(pod)  # the test pod is recognised by its label and its name
    assert ("# `apply_manifests.py cleanup` removes only what `apply_manifests.py apply` created: objects made from this "
            "file by hand stay, delete them yourself (a namespace or service account only if it did not exist before).\n") in out


def test_a_system_namespace_from_the_config_is_refused_unless_allowed(capsys, tmp_path):
    raw = example_config()
    raw["spoke"]["roles"][0]["service_accounts"] = ["kube-system:cluster-autoscaler"]
    files = {"config": str(write_config(tmp_path, raw)), "outputs": str(write_outputs(tmp_path))}
    code, out, err = run(capsys, "render", *inputs(files))
    assert (code, out) == (2, "")
    assert err == (f"apply_manifests: error: service account kube-system:cluster-autoscaler in {files['config']}: "
                   "'kube-system' is a system namespace (kube-*, openshift, openshift-*): the test would annotate service "
                   "accounts the cluster's own pods may use, giving their new pods the spoke role; test in a namespace of "
                   "your own, or pass --allow-system-namespace\n")
    docs = render_docs(capsys, files, "--allow-system-namespace")
    assert docs[1]["metadata"]["namespace"] == "kube-system"


def test_the_default_namespace_is_allowed(capsys, files):
    docs = render_docs(capsys, files, "--namespace", "default")
    assert [d["metadata"].get("namespace", d["metadata"]["name"]) for d in docs] == ["default"] * 3


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", " 5"])
def test_verify_timeout_must_be_a_finite_number_of_seconds(capsys, files, value):
    code, _, err = run(capsys, "verify", *inputs(files), "--timeout", value)
    assert code == 2
    reason = "0 must be more than 0" if value == "0" else f"{value!r} is not a number of seconds; give e.g. 30 or 2.5"
    assert err == f"apply_manifests: error: argument --timeout: {reason} (see apply_manifests verify --help)\n"


def test_a_missing_config_file_names_this_scripts_flag(capsys, tmp_path):
    # Item 7: config.py's message speaks to the CDK app (-c config=PATH); this script's flag is --config.
    missing = tmp_path / "federation.yml"
    code, _, err = run(capsys, "render", "--config", str(missing), "--role-arn", ROLE_ARN)
    assert code == 1
    assert err == (f"apply_manifests: error: config file '{missing}' not found; pass --config FILE (the CDK app's "
                   "federation YAML; the bundled example is config/example.yaml)\n")
    code, _, err = run(capsys, "render", "--config", str(tmp_path), "--role-arn", ROLE_ARN)
    assert code == 1
    assert err == f"apply_manifests: error: --config '{tmp_path}' is a directory; give the federation YAML file in it: --config FILE\n"
    assert "-c config" not in err


def test_a_misspelt_stack_among_several_gets_did_you_mean(capsys, tmp_path):
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"HubStack": {}, "SpokeStack": {"Role": ROLE_ARN}, "SpokeStackProd": {}}))
    config = write_config(tmp_path)
    code, _, err = run(capsys, "render", "--config", str(config), "--outputs", str(outputs), "--stack", "spokestak")
    assert code == 1
    assert err == (f"apply_manifests: error: {outputs} has no stack 'spokestak' (stacks in it: HubStack, SpokeStack, "
                   "SpokeStackProd); did you mean --stack SpokeStack?\n")
    code, _, err = run(capsys, "render", "--config", str(config), "--outputs", str(outputs), "--stack", "SpokeStackDev")
    assert err == (f"apply_manifests: error: {outputs} has no stack 'SpokeStackDev' (stacks in it: HubStack, SpokeStack, "
                   f"SpokeStackProd); pass --stack NAME, or deploy it with `scripts/cdk deploy SpokeStackDev --outputs-file {outputs}`\n")


def test_a_malformed_arn_is_named_even_beside_valid_ones_for_other_roles(capsys, tmp_path):
    bad = f"arn:aws:iam::{ACCOUNT}:role/spoke-account-role "
    outputs = write_outputs(tmp_path, {"RoleArnSpokeAccountRole": bad, "RoleArnOther": f"arn:aws:iam::{ACCOUNT}:role/other"})
    code, _, err = run(capsys, "render", "--config", str(write_config(tmp_path)), "--outputs", str(outputs))
    assert code == 1
    assert err.startswith(f"apply_manifests: error: stack 'SpokeStack' in {outputs} has no valid ARN of role "
                          f"'spoke-account-role': output RoleArnSpokeAccountRole is '{bad}', which is not an IAM role ARN "
                          f"(it has a space at position {len(bad)}; remove it); ")


def test_a_malformed_arn_of_another_role_is_not_blamed(capsys, tmp_path):
    outputs = write_outputs(tmp_path, {"RoleArnOther": f"arn:aws:iam:::{ACCOUNT}:role/other"})
    code, _, err = run(capsys, "render", "--config", str(write_config(tmp_path)), "--outputs", str(outputs))
    assert code == 1
    assert err.startswith(f"apply_manifests: error: stack 'SpokeStack' in {outputs} has no output with the ARN of role "
                          "'spoke-account-role' (role ARNs in it: none); ")


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


# --- item 1: started by any python3, as the README shows it --------------------------------------

def outside_the_venv(interpreter_dir: Path) -> dict:
    """The environment of a shell without the venv: PATH leads `/usr/bin/env python3` to ``interpreter_dir``."""
    env = {k: val for k, val in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(dict.fromkeys([str(interpreter_dir), "/usr/bin", "/bin"]))
    python3 = shutil.which("python3", path=env["PATH"])
    if python3 is None:
        pytest.skip(f"no python3 in {interpreter_dir}")
    if subprocess.run([python3, "-c", "import oidc_federation"], env=env, capture_output=True).returncode == 0:
        pytest.skip(f"{python3} has the project installed itself; nothing to show")
    return env


@pytest.mark.parametrize("interpreter_dir", [Path(sys.base_prefix) / "bin", Path("/usr/bin")], ids=["base-python", "usr-bin"])
def test_the_script_runs_with_the_machines_python3(files, interpreter_dir):
    done = subprocess.run([str(SCRIPT), "render", *inputs(files)], capture_output=True, text=True,
                          env=outside_the_venv(interpreter_dir), cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert [d["kind"] for d in yaml.safe_load_all(done.stdout)] == ["Namespace", "ServiceAccount", "Pod"]


def test_without_the_venv_one_line_says_to_run_setup(tmp_path):
    (tmp_path / "scripts").mkdir()
    for name in ("apply_manifests.py", "_venv.py"):
        shutil.copy2(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    done = subprocess.run([str(tmp_path / "scripts" / "apply_manifests.py"), "render"], capture_output=True, text=True,
                          env=outside_the_venv(Path(sys.base_prefix) / "bin"), timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "apply_manifests: error: the project is not set up; run scripts/setup first\n")
