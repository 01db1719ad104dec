"""scripts/apply_manifests.py against the cluster: the exact command lines apply, verify and cleanup
run (through a real executable that records them), the re-created test pod (CASES.md 12), verify's
diagnosis of each broken link from the AWS CLI's own error texts, its progress and its timeout.

The last test runs the three commands against a live cluster when one is configured.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import time

import pytest
import yaml

from oidc_federation import kube_manifests as km
from oidc_federation import kubernetes

try:  # tests/ as a package or as a rootdir on sys.path, whichever pytest uses
    from .test_apply_manifests import (ACCOUNT, ISSUER, ROLE_ARN, FakeKubectl, example_config, run, two_role_config,
                                       write_config, write_outputs)
except ImportError:
    from test_apply_manifests import (ACCOUNT, ISSUER, ROLE_ARN, FakeKubectl, example_config, run, two_role_config,
                                      write_config, write_outputs)

NS, SA, POD = "my-application-ca", "default", "oidc-federation-test-default"
OTHER_ARN = f"arn:aws:iam::{ACCOUNT}:role/old-role"
TARGET = km.Target(role_name="spoke-account-role", role_arn=ROLE_ARN, namespace=NS, service_account=SA,
                   audience="sts.amazonaws.com", region="us-east-2")
OUTSIDER = km.Target(role_name="spoke-account-role", role_arn=ROLE_ARN, namespace=NS, service_account="intruder",
                     audience="sts.amazonaws.com", region="us-east-2")
MANAGED = {"app.kubernetes.io/managed-by": "spoke-oidc-federation"}
CREATED = {"spoke-oidc-federation/created-by-apply": "true"}  # the one marker cleanup trusts (set by apply only)

# What the AWS CLI v2 prints (and kubectl exec adds) for each broken link.
CLI_NO_PROVIDER = ("\nAn error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: "
                   f"No OpenIDConnect provider found in your account for {ISSUER}\ncommand terminated with exit code 254\n")
CLI_AUDIENCE = ("\nAn error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: "
                "Incorrect token audience\ncommand terminated with exit code 254\n")
CLI_NOT_AUTHORIZED = ("\nAn error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
                      "Not authorized to perform sts:AssumeRoleWithWebIdentity\ncommand terminated with exit code 254\n")
CLI_NO_CREDENTIALS = ('\nUnable to locate credentials. You can configure credentials by running "aws configure".\n'
                      "command terminated with exit code 253\n")
CLI_NO_TOKEN_FILE = ("\n[Errno 2] No such file or directory: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token'\n"
                     "command terminated with exit code 255\n")
CLI_NO_JWKS = ("\nAn error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: "
               "Couldn't retrieve verification key from your identity provider,  please reference "
               "AssumeRoleWithWebIdentity documentation for requirements\ncommand terminated with exit code 254\n")


def identity(arn: str) -> dict:
    return {"UserId": "AROAEXAMPLE:oidc-federation-test", "Account": arn.split(":")[4], "Arn": arn}


def live_pod(*, options: km.PodOptions = km.PodOptions(), target: km.Target = TARGET, role_arn: str | None = None,
             injected: str | None = ROLE_ARN, phase: str = "Running", ready: bool = True, waiting: tuple | None = None,
             audience: str = "sts.amazonaws.com") -> dict:
    """The pod as `kubectl get pod -o json` shows it, after the webhook (when ``injected``) changed it."""
    pod = copy.deepcopy(km.pod_manifest(target, options))
    if role_arn is not None:
        pod["metadata"]["annotations"][km.POD_ROLE_ARN] = role_arn
    container = pod["spec"]["containers"][0]
    if injected and not options.projected_token:
        container["env"] += [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
                             {"name": "AWS_ROLE_ARN", "value": injected},
                             {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": km.TOKEN_FILE}]
        container["volumeMounts"].append({"name": "aws-iam-token", "mountPath": km.TOKEN_DIR, "readOnly": True})
        pod["spec"]["volumes"].insert(0, {"name": "aws-iam-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": audience, "expirationSeconds": 86400, "path": "token"}}]}})
    state = {"running": {"startedAt": "2025-01-01T00:00:00Z"}}
    if waiting:
        state = {"waiting": {"reason": waiting[0], "message": waiting[1]}}
    pod["status"] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        "containerStatuses": [{"name": "aws-cli", "ready": ready, "state": state}],
    }
    return pod


def pending_pod() -> dict:
    return live_pod(phase="Pending", ready=False, waiting=("ContainerCreating", ""))


def service_account(annotations: dict | None = None, managed: bool = True, label: bool | None = None) -> dict:
    """The live service account; ``managed``: apply created it (its annotation); ``label``: it has our label (default: managed)."""
    metadata = {"name": SA, "namespace": NS, "annotations": dict(annotations if annotations is not None else {km.ROLE_ARN_KEY: ROLE_ARN})}
    if managed:
        metadata["annotations"].update(CREATED)
    if managed if label is None else label:
        metadata["labels"] = dict(MANAGED)
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def namespace(managed: bool = True, description: str | None = None, label: bool | None = None) -> dict:
    """The live namespace; ``managed``: apply created it (its annotation); ``label``: it has our label (default: managed)."""
    metadata: dict = {"name": NS}
    annotations = dict(CREATED) if managed else {}
    if description:
        annotations["openshift.io/description"] = description
    if annotations:
        metadata["annotations"] = annotations
    if managed if label is None else label:
        metadata["labels"] = dict(MANAGED)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


@pytest.fixture(autouse=True)
def no_settle(monkeypatch):
    """apply's wait for the webhook's cache (2 s by default) is tested on its own; elsewhere it is 0."""
    monkeypatch.setattr(kubernetes, "DEFAULT_SETTLE", 0.0)
    monkeypatch.setattr(kubernetes, "SA_POLL_INTERVAL", 0.01)


@pytest.fixture
def env(tmp_path):
    """The example config, its outputs file and a fake kubectl; ``args(*extra)`` builds the flags."""
    class Env:
        config = write_config(tmp_path)
        outputs = write_outputs(tmp_path)
        kubectl = FakeKubectl(tmp_path / "bin")

        def args(self, *extra: str) -> list[str]:
            return ["--config", str(self.config), "--outputs", str(self.outputs), "--kubectl", str(self.kubectl.path), *extra]
    return Env()


GET_NS = ["get", "namespace", NS, "-o", "json", "--ignore-not-found"]
GET_SA = ["get", "serviceaccount", SA, "-n", NS, "-o", "json", "--ignore-not-found"]
GET_POD = ["get", "pod", POD, "-n", NS, "-o", "json", "--ignore-not-found"]
APPLY = ["apply", "-f", "-"]
EXEC = ["exec", POD, "-n", NS, "-c", "aws-cli", "--", "aws", "sts", "get-caller-identity", "--output", "json"]


def kinds(stdin: str) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(stdin) if d]


# --- apply --------------------------------------------------------------------------------------


def test_apply_on_an_empty_cluster_creates_namespace_and_service_account_then_the_pod(capsys, env):
    code, out, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    # Between the two applies: the service account read back until it shows the annotation (item 5).
    assert env.kubectl.argvs == [GET_NS, APPLY, GET_SA, APPLY]
    first, second = env.kubectl.calls[1]["stdin"], env.kubectl.calls[3]["stdin"]
    assert kinds(first) == [("Namespace", NS), ("ServiceAccount", SA)]
    assert kinds(second) == [("Pod", POD)]
    ns, sa = list(yaml.safe_load_all(first))
    assert sa["metadata"]["annotations"][km.ROLE_ARN_KEY] == ROLE_ARN
    # What apply creates it marks as its own, so that cleanup deletes it.
    assert ns["metadata"]["annotations"] == CREATED and ns["metadata"]["labels"] == MANAGED
    assert sa["metadata"]["annotations"]["spoke-oidc-federation/created-by-apply"] == "true"
    assert err == ("+ kubectl apply -f -\n+ kubectl apply -f -\n"
                   "apply_manifests: applied; next: apply_manifests verify with the same flags\n")


def test_apply_recreates_a_pod_made_for_another_role(capsys, env):
    # Case 12: a running pod never picks up a changed annotation, so apply deletes and re-creates it.
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account({km.ROLE_ARN_KEY: OTHER_ARN}))
    env.kubectl.on("get", "pod", stdout=live_pod(role_arn=OTHER_ARN, injected=OTHER_ARN))
    code, out, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, ["delete", "pod", POD, "-n", NS, "--wait"], APPLY, GET_SA, APPLY]
    assert (f"apply_manifests: service account {NS}/{SA}: eks.amazonaws.com/role-arn changes from {OTHER_ARN} to {ROLE_ARN}\n"
            in err)
    assert f"apply_manifests: re-creating pod {NS}/{POD}: it was made for role {OTHER_ARN}, now {ROLE_ARN}\n" in err
    assert kinds(env.kubectl.calls[4]["stdin"]) == [("Namespace", NS), ("ServiceAccount", SA)]


def test_apply_recreates_a_pod_started_before_the_annotation(capsys, env):
    # Case 12: the annotation was added after the pod started: the webhook never injected anything.
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("get", "pod", stdout=live_pod(injected=None))
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    assert ["delete", "pod", POD, "-n", NS, "--wait"] in env.kubectl.argvs
    assert ("re-creating pod my-application-ca/oidc-federation-test-default: the webhook did not inject AWS_ROLE_ARN "
            "into it (it was started before the service account carried eks.amazonaws.com/role-arn") in err


def annotated(pod: dict, key: str, value: str) -> dict:
    pod["metadata"]["annotations"][key] = value
    return pod


@pytest.mark.parametrize("pod,reason", [
    (live_pod(phase="Succeeded", ready=False), "it has ended (phase Succeeded)"),
    (annotated(live_pod(audience="openshift"), km.POD_AUDIENCE, "openshift"),
     "it was made for audience 'openshift', now 'sts.amazonaws.com'"),
    (live_pod(options=km.PodOptions(lifetime=60)),
     "its spec differs from the one rendered now (image, mode, region or lifetime) and a pod's spec cannot change in place"),
], ids=["ended", "audience", "spec"])
def test_apply_recreates_pods_that_cannot_test_the_current_setup(capsys, env, pod, reason):
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("get", "pod", stdout=pod)
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    assert f"re-creating pod {NS}/{POD}: {reason}\n" in err


def test_apply_leaves_a_pod_that_still_fits(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("get", "pod", stdout=live_pod())
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, APPLY, APPLY]


def test_apply_annotates_an_existing_service_account_without_claiming_it(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False))
    env.kubectl.on("get", "serviceaccount", stdout=service_account({"eks.amazon.com/role-arn": ROLE_ARN}, managed=False))
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    # The namespace is not ours: not applied. The service account is annotated in place (no
    # kubectl apply, which would leave its last-applied-configuration behind), not claimed, and
    # what the annotations held before is recorded for cleanup (item 4).
    record = {km.ROLE_ARN_KEY: {"applied": ROLE_ARN, "previous": None},
              km.STS_REGIONAL_KEY: {"applied": "true", "previous": None}}
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, [
        "annotate", "serviceaccount", SA, "-n", NS, "--overwrite", f"{km.ROLE_ARN_KEY}={ROLE_ARN}",
        f"{km.STS_REGIONAL_KEY}=true", f"{km.PREVIOUS_ANNOTATIONS}={json.dumps(record, sort_keys=True, separators=(',', ':'))}",
    ], GET_SA, APPLY]
    assert kinds(env.kubectl.calls[5]["stdin"]) == [("Pod", POD)]
    live = env.kubectl.live("ServiceAccount", SA, NS)
    assert "labels" not in live["metadata"] and not km.created_by_apply(live)  # so cleanup does not delete it
    assert live["metadata"]["annotations"][km.ROLE_ARN_KEY] == ROLE_ARN
    assert (f"apply_manifests: warning: service account {NS}/{SA} has annotation 'eks.amazon.com/role-arn', which the "
            "webhook ignores (did you mean 'eks.amazonaws.com/role-arn'?); remove it: kubectl annotate serviceaccount "
            f"-n {NS} {SA} eks.amazon.com/role-arn-\n") in err
    assert f"apply_manifests: namespace {NS} exists and was not created by this script: using it; cleanup leaves it\n" in err
    assert (f"apply_manifests: service account {NS}/{SA} exists and was not created by this script: annotating it; "
            "cleanup puts back the annotations it changes and leaves it\n") in err


def test_apply_overwrites_a_stale_audience_annotation(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace())
    env.kubectl.on("get", "serviceaccount", stdout=service_account({km.ROLE_ARN_KEY: ROLE_ARN, km.AUDIENCE_KEY: "openshift"}))
    assert run(capsys, "apply", *env.args())[0] == 0
    sa = list(yaml.safe_load_all(env.kubectl.calls[3]["stdin"]))[1]
    assert sa["metadata"]["annotations"][km.AUDIENCE_KEY] == "sts.amazonaws.com"


def test_apply_refuses_to_replace_a_pod_it_did_not_create(capsys, env):
    foreign = live_pod()
    del foreign["metadata"]["labels"]
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "pod", stdout=foreign)
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 1
    assert err == (f"apply_manifests: error: pod {NS}/{POD} exists and was not created by this script; "
                   "delete or rename it first\n")
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD]


def test_apply_openshift_creates_a_project_request_only_when_the_project_is_missing(capsys, env):
    code, _, err = run(capsys, "apply", *env.args("--openshift"))
    assert code == 0, err
    assert env.kubectl.argvs == [GET_NS, ["create", "-f", "-"], APPLY, GET_SA, APPLY]
    assert kinds(env.kubectl.calls[1]["stdin"]) == [("ProjectRequest", NS)]
    # The description cleanup recognises: only on a project apply itself requests.
    assert list(yaml.safe_load_all(env.kubectl.calls[1]["stdin"]))[0]["description"] == km.PROJECT_DESCRIPTION
    assert kinds(env.kubectl.calls[2]["stdin"]) == [("ServiceAccount", SA)]
    pod = list(yaml.safe_load_all(env.kubectl.calls[4]["stdin"]))[0]
    assert "runAsUser" not in pod["spec"]["securityContext"]


def test_apply_openshift_on_an_existing_project_creates_nothing_twice(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False, description=km.PROJECT_DESCRIPTION))
    env.kubectl.on("get", "serviceaccount", stdout=service_account()).on("get", "pod", stdout=live_pod(options=km.PodOptions(openshift=True)))
    assert run(capsys, "apply", *env.args("--openshift"))[0] == 0
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, APPLY, APPLY]


def test_apply_with_context_passes_it_to_every_command(capsys, env):
    assert run(capsys, "apply", *env.args("--context", "hub-admin"))[0] == 0
    assert all(argv[:2] == ["--context", "hub-admin"] for argv in env.kubectl.argvs)
    assert [argv[2:] for argv in env.kubectl.argvs] == [GET_NS, APPLY, GET_SA, APPLY]


def test_apply_dry_run_reads_the_cluster_and_prints_the_changes(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("get", "pod", stdout=live_pod(role_arn=OTHER_ARN))
    code, out, err = run(capsys, "apply", *env.args("--dry-run"))
    assert code == 0, err
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD]  # only reads ran
    assert out.startswith(f"kubectl delete pod {POD} -n {NS} --wait\nkubectl apply -f - <<'EOF'\napiVersion: v1\nkind: Namespace\n")
    assert out.count("<<'EOF'") == 2 and out.endswith("EOF\n")


def test_apply_failure_shows_kubectls_words_and_the_likely_fix(capsys, env):
    scc = ('Error from server (Forbidden): error when creating "STDIN": pods "oidc-federation-test-default" is forbidden: '
           "unable to validate against any security context constraint: [provider restricted-v2: "
           ".spec.securityContext.fsGroup: Invalid value: []int64{65532}: 65532 is not an allowed group]\n")
    env.kubectl.on("apply", replies=[{"stdout": "namespace/my-application-ca created\n"}, {"stderr": scc, "rc": 1}])
    code, out, err = run(capsys, "apply", *env.args())
    assert code == 1
    assert out == "namespace/my-application-ca created\n"
    assert err.endswith(
        "apply_manifests: error: `kubectl apply -f -` failed (exit 1): " + scc.strip()
        + "; on OpenShift add --openshift (the pod then sets no fixed UID and the SCC assigns one)\n")


def test_apply_all_roles_applies_every_service_account(capsys, tmp_path):
    kubectl = FakeKubectl(tmp_path / "bin")
    config = write_config(tmp_path, two_role_config())
    code, _, err = run(capsys, "apply", "--config", str(config), "--outputs", str(write_outputs(tmp_path)),
                       "--kubectl", str(kubectl.path), "--all-roles")
    assert code == 0, err
    assert [a[:3] for a in kubectl.argvs] == [["get", "namespace", NS], ["get", "namespace", "reports"], APPLY,
                                              ["get", "serviceaccount", SA], ["get", "serviceaccount", "reader"],
                                              ["get", "serviceaccount", "auditor"], APPLY]
    assert kinds(kubectl.calls[2]["stdin"]) == [("Namespace", NS), ("Namespace", "reports"), ("ServiceAccount", SA),
                                                ("ServiceAccount", "reader"), ("ServiceAccount", "auditor")]
    assert kinds(kubectl.calls[6]["stdin"]) == [("Pod", POD), ("Pod", "oidc-federation-test-reader"),
                                                ("Pod", "oidc-federation-test-auditor")]


# --- verify -------------------------------------------------------------------------------------


def verify(capsys, env, *extra: str):
    return run(capsys, "verify", *env.args("--poll-interval", "0.01", *extra))


def test_verify_waits_with_progress_then_finds_the_spoke_role(capsys, env):
    env.kubectl.on("get", "pod", replies=[{"stdout": pending_pod()}, {"stdout": pending_pod()}, {"stdout": live_pod()}])
    env.kubectl.on("get", "serviceaccount", stdout=service_account())
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/spoke-account-role/oidc-federation-test"
    env.kubectl.on("exec", stdout=identity(session))
    code, out, err = verify(capsys, env)
    assert code == 0, err
    assert env.kubectl.argvs == [GET_POD, GET_POD, GET_POD, EXEC]
    assert out == f"verify: ok: {NS}:{SA} is {session} (role {ROLE_ARN})\n"
    lines = err.splitlines()
    assert lines[0] == f"apply_manifests: pod {NS}/{POD}: waiting for Ready: 0 s of 180, phase Pending (ContainerCreating)"
    assert lines[-1] == f"apply_manifests: pod {NS}/{POD}: Ready after 0 s"
    assert len(lines) == 2  # an unchanged state is not repeated (every 10 s at most)


def test_verify_times_out_with_the_pods_state(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(phase="Pending", ready=False, waiting=("ContainerCreating", "")))
    started = time.monotonic()
    code, out, err = verify(capsys, env, "--timeout", "0.3")
    assert time.monotonic() - started < 5
    assert (code, out) == (1, "")
    assert err.splitlines()[-2:] == [
        f"apply_manifests: error: verify {NS}:{SA} (role spoke-account-role): pod {NS}/{POD} is not Ready after 0.3 s "
        "(phase Pending (ContainerCreating))",
        f"  fix: see the events: kubectl describe pod -n {NS} {POD}; or wait longer with --timeout SECONDS",
    ]
    assert all(argv == GET_POD for argv in env.kubectl.argvs)


def test_verify_stops_waiting_for_an_image_that_cannot_be_pulled(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(phase="Pending", ready=False,
                                                 waiting=("ImagePullBackOff", 'Back-off pulling image "x"')))
    code, _, err = verify(capsys, env)
    assert code == 1
    assert err.splitlines()[-3:] == [
        f"apply_manifests: error: verify {NS}:{SA} (role spoke-account-role): pod {NS}/{POD} will not become Ready: "
        "phase Pending (ImagePullBackOff)",
        '  Back-off pulling image "x"',
        f"  fix: the node cannot pull {km.DEFAULT_IMAGE}; mirror it where the cluster can pull and pass --image",
    ]


def test_verify_without_a_pod_says_to_apply_first(capsys, env):
    code, _, err = verify(capsys, env)
    assert code == 1
    assert err == (f"apply_manifests: error: verify {NS}:{SA} (role spoke-account-role): pod {NS}/{POD} does not exist\n"
                   "  fix: run `apply_manifests apply` with the same flags first\n")


def expect_link(err: str, link: int, summary: str) -> list[str]:
    lines = err.splitlines()
    head = f"apply_manifests: error: verify {NS}:{SA} (role spoke-account-role): link {link} of 6 is broken: {summary}"
    assert head in lines, err
    return lines[lines.index(head) + 1:]


def test_verify_link1_the_webhook_did_not_inject_and_the_key_is_misspelt(capsys, env):
    # Case 12: `eks.amazon.com/role-arn` silently injects nothing; verify names the key, before any exec.
    env.kubectl.on("get", "pod", stdout=live_pod(injected=None))
    env.kubectl.on("get", "serviceaccount", stdout=service_account({"eks.amazon.com/role-arn": ROLE_ARN}, managed=False))
    code, _, err = verify(capsys, env)
    assert code == 1
    assert env.kubectl.argvs == [GET_POD, GET_SA]
    assert expect_link(err, 1, "the pod has no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token file)") == [
        "  the pod's container has no AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE: the pod identity webhook did not change it",
        "  the service account has annotation 'eks.amazon.com/role-arn', which the webhook ignores; the key is 'eks.amazonaws.com/role-arn'",
        "  the service account has no eks.amazonaws.com/role-arn annotation",
        "  fix: annotate the service account with eks.amazonaws.com/role-arn (apply does), check that the webhook runs "
        "(kubectl get mutatingwebhookconfiguration pod-identity-webhook; on clusters without it use --projected-token), "
        "then run apply again: it re-creates the pod (a running pod never picks up a changed annotation)",
    ]


def test_verify_link1_pod_started_before_the_annotation(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(injected=None)).on("get", "serviceaccount", stdout=service_account())
    code, _, err = verify(capsys, env)
    assert code == 1
    # Item 5: the webhook's cache is named as a cause; the fix (re-run apply, which re-creates the pod) follows.
    assert ("  the service account carries eks.amazonaws.com/role-arn correctly, so the pod was created before the "
            "annotation, or before the webhook's cache of service accounts saw it (the webhook reads them from an "
            "informer cache, a moment behind), or no pod identity webhook runs in this cluster") in err.splitlines()
    assert err.splitlines()[-1].endswith("then run apply again: it re-creates the pod (a running pod never picks up a "
                                         "changed annotation)")


def test_verify_link1_pod_injected_for_another_role(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(injected=OTHER_ARN)).on("get", "serviceaccount", stdout=service_account())
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 1, "the pod has no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token file)") == [
        f"  the webhook injected AWS_ROLE_ARN={OTHER_ARN}, not {ROLE_ARN}: the pod was created before the service "
        "account's annotation changed",
        "  fix: run apply again: it re-creates the pod (a running pod never picks up a changed annotation)",
    ]


@pytest.mark.parametrize("stderr,detail", [
    (CLI_NO_CREDENTIALS, 'the AWS CLI said: Unable to locate credentials. You can configure credentials by running "aws configure".'),
    (CLI_NO_TOKEN_FILE, "the AWS CLI said: the token file /var/run/secrets/eks.amazonaws.com/serviceaccount/token cannot be "
                        "read: No such file or directory"),
])
def test_verify_link1_from_the_cli_when_the_token_is_missing(capsys, env, stderr, detail):
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=stderr, rc=253)
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 1, "the pod has no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token file)") == [
        f"  {detail}",
        "  fix: check the service account's eks.amazonaws.com/role-arn annotation key and that the webhook runs, then "
        "run apply again (it re-creates the pod)",
    ]


def test_verify_link2_no_provider_for_the_issuer(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_NO_PROVIDER, rc=254)
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 2, "the spoke account has no OIDC provider for the token's issuer") == [
        "  the AWS CLI said: An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity "
        f"operation: No OpenIDConnect provider found in your account for {ISSUER}",
        f"  fix: create the provider for {ISSUER} in account {ACCOUNT} (deploy SpokeStack there with "
        "spoke.provider.mode: create, or check the provider of mode: existing)",
    ]


def test_verify_link2_names_an_issuer_that_differs_from_the_config(capsys, env):
    # Case 4: the cluster's real issuer is not the one the provider was made for.
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_NO_PROVIDER.replace(ISSUER, "https://rh-oidc.s3.us-east-1.amazonaws.com/abc/"), rc=254)
    code, _, err = verify(capsys, env)
    assert expect_link(err, 2, "the spoke account has no OIDC provider for the token's issuer")[1:] == [
        f"  the pod's tokens are issued by https://rh-oidc.s3.us-east-1.amazonaws.com/abc/, but hub.issuer_url in "
        f"{env.config} is {ISSUER}",
        "  fix: set hub.issuer_url to the cluster's issuer exactly (https://rh-oidc.s3.us-east-1.amazonaws.com/abc; a "
        "provider URL must equal the token's issuer, no trailing slash) and redeploy SpokeStack",
    ]


def test_verify_link3_audience_not_accepted(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(audience="openshift")).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_AUDIENCE, rc=254)
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 3, "the token's audience is not accepted") == [
        "  the AWS CLI said: An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity "
        "operation: Incorrect token audience",
        "  the pod's token is for audience 'openshift'; the provider's client IDs are ['sts.amazonaws.com']",
        "  fix: use an audience the provider lists: set the role's audience (or --audience) to one of "
        "spoke.provider.client_ids, or add openshift there and redeploy; then apply again",
    ]


def test_verify_link4_service_account_not_in_the_trust_policy(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod(target=OUTSIDER)).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_NOT_AUTHORIZED, rc=254)
    code, _, err = run(capsys, "verify", *env.args("--poll-interval", "0.01", "--service-account", "intruder"))
    assert code == 1
    assert err.startswith(f"apply_manifests: warning: {NS}:intruder is not among role spoke-account-role's "
                          f"service_accounts ({NS}:{SA}); its trust policy will refuse it (AccessDenied)\n")
    head = ("apply_manifests: error: verify my-application-ca:intruder (role spoke-account-role): link 4 of 6 is broken: "
            "the role's trust policy does not allow this service account")
    lines = err.splitlines()
    assert lines[lines.index(head) + 1:] == [
        "  the AWS CLI said: An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: "
        "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        f"  the pod's token says sub=system:serviceaccount:{NS}:intruder, aud=sts.amazonaws.com; role spoke-account-role "
        f"trusts {NS}:{SA} in {env.config}",
        f"  fix: add {NS}:intruder to the role's service_accounts and redeploy (or test one it lists); the same error "
        f"appears when the role {ROLE_ARN} does not exist or trusts another provider",
    ]


def test_verify_link4_when_the_config_trusts_it_the_deployed_role_differs(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_NOT_AUTHORIZED, rc=254)
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 4, "the role's trust policy does not allow this service account")[-1] == (
        f"  fix: {env.config} trusts {NS}:{SA}, so the deployed role differs from it: redeploy SpokeStack from this "
        f"config; the same error appears when the role {ROLE_ARN} does not exist or its trust policy names another provider")


def test_verify_link5_identity_is_another_role(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    node = "arn:aws:sts::999999999999:assumed-role/ROSA-Worker-Role/i-0123456789abcdef0"
    env.kubectl.on("exec", stdout=identity(node))
    code, out, err = verify(capsys, env)
    assert (code, out) == (1, "")
    assert expect_link(err, 5, "the pod's identity is a different role or account")[:2] == [
        f"  the pod is {node}",
        f"  expected arn:aws:sts::{ACCOUNT}:assumed-role/spoke-account-role/...",
    ]


def test_verify_link6_other_errors_show_the_cli_output(capsys, env):
    env.kubectl.on("get", "pod", stdout=live_pod()).on("get", "serviceaccount", stdout=service_account())
    env.kubectl.on("exec", stderr=CLI_NO_JWKS, rc=254)
    code, _, err = verify(capsys, env)
    assert code == 1
    assert expect_link(err, 6, "the AWS CLI failed for another reason") == [
        "  the AWS CLI exited 254 and said:",
        "    An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: Couldn't "
        "retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity "
        "documentation for requirements",
        "    command terminated with exit code 254",
        "  fix: STS could not fetch the issuer's keys (JWKS): the issuer URL must serve "
        "/.well-known/openid-configuration and its jwks_uri publicly over HTTPS",
    ]


def test_verify_projected_token_mode_needs_no_webhook(capsys, env):
    options = km.PodOptions(projected_token=True)
    env.kubectl.on("get", "pod", stdout=live_pod(options=options, injected=None))
    env.kubectl.on("exec", stdout=identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/spoke-account-role/s"))
    code, out, err = verify(capsys, env, "--projected-token")
    assert code == 0, err
    assert env.kubectl.argvs == [GET_POD, EXEC]


# --- cleanup ------------------------------------------------------------------------------------

DELETE_POD = ["delete", "pod", POD, "-n", NS, "--ignore-not-found", "--wait"]


def test_cleanup_deletes_what_apply_created(capsys, env):
    env.kubectl.on("get", "serviceaccount", stdout=service_account()).on("get", "namespace", stdout=namespace())
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [
        DELETE_POD, GET_SA, ["delete", "serviceaccount", SA, "-n", NS, "--ignore-not-found"],
        GET_NS, ["delete", "namespace", NS, "--ignore-not-found", "--wait"],
    ]


def test_cleanup_leaves_what_existed_before(capsys, env):
    env.kubectl.on("get", "serviceaccount", stdout=service_account(managed=False))
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False))
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [DELETE_POD, GET_SA, GET_NS]
    assert err == ("+ kubectl delete pod oidc-federation-test-default -n my-application-ca --ignore-not-found --wait\n"
                   f"apply_manifests: left service account {NS}/{SA}: it existed before apply (no "
                   "spoke-oidc-federation/created-by-apply annotation) and has no record of annotations apply changed\n"
                   f"apply_manifests: left namespace {NS}: it was not created by this script\n")


def test_cleanup_is_idempotent(capsys, env):
    for _ in range(2):
        code, _, err = run(capsys, "cleanup", *env.args())
        assert code == 0, err
    assert env.kubectl.argvs == [DELETE_POD, GET_SA, GET_NS] * 2


def test_cleanup_openshift_deletes_the_project_it_requested(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False, description=km.PROJECT_DESCRIPTION))
    assert run(capsys, "cleanup", *env.args("--openshift"))[0] == 0
    assert env.kubectl.argvs[-1] == ["delete", "project", NS, "--ignore-not-found", "--wait"]


def test_cleanup_keep_namespace(capsys, env):
    env.kubectl.on("get", "serviceaccount", stdout=service_account())
    assert run(capsys, "cleanup", *env.args("--keep-namespace"))[0] == 0
    assert env.kubectl.argvs == [DELETE_POD, GET_SA, ["delete", "serviceaccount", SA, "-n", NS, "--ignore-not-found"]]


def test_cleanup_dry_run_prints_the_deletes(capsys, env):
    env.kubectl.on("get", "serviceaccount", stdout=service_account()).on("get", "namespace", stdout=namespace())
    code, out, _ = run(capsys, "cleanup", *env.args("--dry-run"))
    assert code == 0
    assert env.kubectl.argvs == [GET_SA, GET_NS]
    assert out == (f"kubectl delete pod {POD} -n {NS} --ignore-not-found --wait\n"
                   f"kubectl delete serviceaccount {SA} -n {NS} --ignore-not-found\n"
                   f"kubectl delete namespace {NS} --ignore-not-found --wait\n")


def test_cleanup_needs_no_outputs_file(capsys, env, tmp_path):
    code, _, err = run(capsys, "cleanup", *env.args(), "--outputs", str(tmp_path / "gone.json"))
    assert code == 0, err


def test_default_tool_is_oc_when_on_path(capsys, env, tmp_path, monkeypatch):
    oc = FakeKubectl(tmp_path / "ocbin", name="oc")
    monkeypatch.setenv("PATH", f"{oc.directory}{os.pathsep}{os.environ['PATH']}")
    args = [a for a in env.args() if a not in ("--kubectl", str(env.kubectl.path))]
    code, _, err = run(capsys, "apply", *args)
    assert code == 0
    assert oc.argvs == [GET_NS, APPLY, GET_SA, APPLY]
    assert err.startswith("apply_manifests: warning: using oc without --openshift: the pod runs as UID 65532, which "
                          "OpenShift's restricted-v2 SCC refuses; add --openshift on OpenShift\n+ oc apply -f -\n")


# --- ownership: what cleanup deletes, what it puts back (items 3 and 4) -------------------------

ORIGINAL = {"example.com/owner": "team-a", km.ROLE_ARN_KEY: OTHER_ARN}  # a service account in use before the test


def record_of(live: dict) -> dict:
    return json.loads(live["metadata"]["annotations"][km.PREVIOUS_ANNOTATIONS])


def test_cleanup_leaves_what_rendered_manifests_applied_by_hand_made(capsys, env):
    # Item 3: `render`, applied by hand onto a namespace and service account that existed before,
    # leaves nothing that cleanup takes for apply's own.
    code, out, err = run(capsys, "render", "--config", str(env.config), "--outputs", str(env.outputs))
    assert code == 0, err
    rendered_ns, rendered_sa, _ = [d for d in yaml.safe_load_all(out) if d]
    env.kubectl.on("get", "namespace", stdout=rendered_ns).on("get", "serviceaccount", stdout=rendered_sa)
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [DELETE_POD, GET_SA, GET_NS]  # no delete of either
    assert err.splitlines()[-1] == f"apply_manifests: left namespace {NS}: it was not created by this script"


def test_cleanup_does_not_trust_the_label_alone(capsys, env):
    # Item 3: rendered files used to carry the label; only apply's annotation makes a namespace apply's.
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False, label=True))
    env.kubectl.on("get", "serviceaccount", stdout=service_account(managed=False, label=True))
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs == [DELETE_POD, GET_SA, GET_NS]
    assert err.splitlines()[-1] == (
        f"apply_manifests: left namespace {NS}: it was not created by this script (it has the app.kubernetes.io/managed-by "
        "label, as rendered manifests had, but not the spoke-oidc-federation/created-by-apply annotation apply sets); "
        "delete it yourself if it was made for this test")


def test_apply_then_cleanup_puts_back_the_annotations_of_a_service_account_that_existed(capsys, env):
    # Item 4: `default` of an existing namespace, used by every pod there: after cleanup its pods
    # must not keep getting the spoke role, and what it carried before is back.
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False))
    env.kubectl.on("get", "serviceaccount", stdout=service_account(dict(ORIGINAL), managed=False))
    code, _, err = run(capsys, "apply", *env.args("--token-expiration", "3600"))
    assert code == 0, err
    live = env.kubectl.live("ServiceAccount", SA, NS)
    assert {k: val for k, val in live["metadata"]["annotations"].items() if k != km.PREVIOUS_ANNOTATIONS} == {
        "example.com/owner": "team-a", km.ROLE_ARN_KEY: ROLE_ARN, km.STS_REGIONAL_KEY: "true", km.TOKEN_EXPIRATION_KEY: "3600"}
    assert record_of(live) == {km.ROLE_ARN_KEY: {"previous": OTHER_ARN, "applied": ROLE_ARN},
                               km.STS_REGIONAL_KEY: {"previous": None, "applied": "true"},
                               km.TOKEN_EXPIRATION_KEY: {"previous": None, "applied": "3600"}}

    calls = len(env.kubectl.calls)
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs[calls:] == [DELETE_POD, GET_SA, [
        "annotate", "serviceaccount", SA, "-n", NS, "--overwrite", f"{km.ROLE_ARN_KEY}={OTHER_ARN}",
        f"{km.STS_REGIONAL_KEY}-", f"{km.TOKEN_EXPIRATION_KEY}-", f"{km.PREVIOUS_ANNOTATIONS}-"], GET_NS]
    assert env.kubectl.live("ServiceAccount", SA, NS)["metadata"]["annotations"] == ORIGINAL
    assert (f"apply_manifests: left service account {NS}/{SA}: it existed before apply; the annotations apply changed "
            "are back as they were\n") in err

    calls = len(env.kubectl.calls)  # idempotent: nothing left to put back
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs[calls:] == [DELETE_POD, GET_SA, GET_NS]
    assert env.kubectl.live("ServiceAccount", SA, NS)["metadata"]["annotations"] == ORIGINAL


def test_a_second_apply_keeps_the_first_previous_values(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False))
    env.kubectl.on("get", "serviceaccount", stdout=service_account(dict(ORIGINAL), managed=False))
    assert run(capsys, "apply", *env.args("--token-expiration", "3600"))[0] == 0
    # Again, without --token-expiration: the key apply added goes, the first previous values stay.
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 0, err
    live = env.kubectl.live("ServiceAccount", SA, NS)
    assert km.TOKEN_EXPIRATION_KEY not in live["metadata"]["annotations"]
    assert record_of(live) == {km.ROLE_ARN_KEY: {"previous": OTHER_ARN, "applied": ROLE_ARN},
                               km.STS_REGIONAL_KEY: {"previous": None, "applied": "true"}}
    assert run(capsys, "cleanup", *env.args())[0] == 0
    assert env.kubectl.live("ServiceAccount", SA, NS)["metadata"]["annotations"] == ORIGINAL


def test_cleanup_leaves_an_annotation_someone_changed_since_apply(capsys, env):
    someone = f"arn:aws:iam::{ACCOUNT}:role/someone-else"
    record = {km.ROLE_ARN_KEY: {"previous": OTHER_ARN, "applied": ROLE_ARN}}
    env.kubectl.on("get", "serviceaccount", stdout=service_account(
        {km.ROLE_ARN_KEY: someone, km.PREVIOUS_ANNOTATIONS: json.dumps(record)}, managed=False))
    code, _, err = run(capsys, "cleanup", *env.args())
    assert code == 0, err
    assert env.kubectl.argvs[2] == ["annotate", "serviceaccount", SA, "-n", NS, "--overwrite", f"{km.PREVIOUS_ANNOTATIONS}-"]
    assert (f"apply_manifests: left annotation {km.ROLE_ARN_KEY} on service account {NS}/{SA} as it is: it changed since "
            f"apply set it to '{ROLE_ARN}' (now '{someone}')\n") in err
    assert env.kubectl.live("ServiceAccount", SA, NS)["metadata"]["annotations"] == {km.ROLE_ARN_KEY: someone}


def test_an_unreadable_record_stops_apply_and_cleanup(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace(managed=False))
    env.kubectl.on("get", "serviceaccount", stdout=service_account({km.PREVIOUS_ANNOTATIONS: "{oops"}, managed=False))
    for command in ("apply", "cleanup"):
        code, _, err = run(capsys, command, *env.args())
        assert code == 1
        assert err.splitlines()[-1].startswith(
            f"apply_manifests: error: service account {NS}/{SA}: spoke-oidc-federation/previous-annotations is not JSON: '{{oops'; ")
    assert not any(argv[0] in ("annotate", "apply") for argv in env.kubectl.argvs)


# --- the pod identity webhook's cache (item 5) ---------------------------------------------------

ANNOTATED = {km.ROLE_ARN_KEY: ROLE_ARN, km.STS_REGIONAL_KEY: "true"}


def test_apply_waits_until_the_service_account_shows_its_annotations_then_settles(capsys, env):
    # The webhook reads service accounts from an informer cache: a pod created right after the
    # annotation can miss it. apply reads the service account back, then waits --settle seconds.
    env.kubectl.on("get", "namespace", stdout=namespace())
    stale, fresh = {"stdout": service_account({})}, {"stdout": service_account(ANNOTATED)}
    env.kubectl.on("get", "serviceaccount", override=True, replies=[stale, stale, stale, fresh])
    started = time.monotonic()
    code, _, err = run(capsys, "apply", *env.args("--settle", "0.3"))
    assert code == 0, err
    assert time.monotonic() - started >= 0.3
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, APPLY, GET_SA, GET_SA, GET_SA, APPLY]
    assert err.splitlines() == [
        "+ kubectl apply -f -",
        f"apply_manifests: waiting for service account {NS}/{SA} to show {km.ROLE_ARN_KEY}={ROLE_ARN}, "
        f"{km.STS_REGIONAL_KEY}=true (up to 10 s)",
        "apply_manifests: waiting 0.3 s before creating the pod: the pod identity webhook sees service accounts through a "
        "cache, a moment behind (--settle SECONDS)",
        "+ kubectl apply -f -",
        "apply_manifests: applied; next: apply_manifests verify with the same flags",
    ]


def test_apply_does_not_create_the_pod_when_the_annotation_never_shows(capsys, env, monkeypatch):
    monkeypatch.setattr(kubernetes, "SA_VISIBLE_TIMEOUT", 0.2)
    env.kubectl.on("get", "namespace", stdout=namespace())
    env.kubectl.on("get", "serviceaccount", override=True, stdout=service_account({km.ROLE_ARN_KEY: OTHER_ARN}))
    code, _, err = run(capsys, "apply", *env.args())
    assert code == 1
    assert err.splitlines()[-1] == (
        f"apply_manifests: error: service account {NS}/{SA} does not show {km.ROLE_ARN_KEY}={ROLE_ARN}, "
        f"{km.STS_REGIONAL_KEY}=true 0.2 s after apply set it, so a pod created now would get no web identity; something "
        f"changes it back (a controller or GitOps tool?): see kubectl get serviceaccount -n {NS} {SA} -o yaml")
    assert env.kubectl.argvs[-1] == GET_SA  # the pod was not applied
    assert sum(argv == APPLY for argv in env.kubectl.argvs) == 1


def test_apply_does_not_settle_when_the_service_account_was_already_annotated(capsys, env):
    env.kubectl.on("get", "namespace", stdout=namespace()).on("get", "serviceaccount", stdout=service_account(ANNOTATED))
    started = time.monotonic()
    code, _, err = run(capsys, "apply", *env.args("--settle", "30"))
    assert code == 0, err
    assert time.monotonic() - started < 10
    assert "waiting" not in err
    assert env.kubectl.argvs == [GET_NS, GET_SA, GET_POD, APPLY, GET_SA, APPLY]


def test_apply_settles_two_seconds_by_default(monkeypatch):
    monkeypatch.undo()  # the real defaults, not the no_settle fixture's
    assert kubernetes.build_parser().parse_args(["apply"]).settle == 2.0
    assert kubernetes.SA_VISIBLE_TIMEOUT == 10.0


# --- a live cluster -----------------------------------------------------------------------------


@pytest.mark.integration
def test_apply_verify_cleanup_on_a_live_cluster(capsys):
    """KUBECONFIG (a hub cluster) and SPOKE_OUTPUTS_FILE (from `scripts/cdk deploy SpokeStack --outputs-file`) set:
    the three commands end to end. SPOKE_CONFIG_FILE (default config/example.yaml), SPOKE_OPENSHIFT=1 and
    SPOKE_KUBE_CONTEXT adjust them."""
    if not os.environ.get("KUBECONFIG") or not os.environ.get("SPOKE_OUTPUTS_FILE"):
        pytest.skip("set KUBECONFIG and SPOKE_OUTPUTS_FILE (a deployed SpokeStack's outputs) to run against a live cluster")
    if not (shutil.which("oc") or shutil.which("kubectl")):
        pytest.skip("neither oc nor kubectl is on PATH")
    flags = ["--config", os.environ.get("SPOKE_CONFIG_FILE", "config/example.yaml"),
             "--outputs", os.environ["SPOKE_OUTPUTS_FILE"]]
    if os.environ.get("SPOKE_OPENSHIFT") == "1":
        flags.append("--openshift")
    if os.environ.get("SPOKE_KUBE_CONTEXT"):
        flags += ["--context", os.environ["SPOKE_KUBE_CONTEXT"]]
    try:
        code, _, err = run(capsys, "apply", *flags)
        assert code == 0, err
        code, out, err = run(capsys, "verify", *flags)
        assert code == 0, err
        assert out.startswith("verify: ok: ")
    finally:
        code, _, err = run(capsys, "cleanup", *flags)
        assert code == 0, err


def test_example_config_is_the_one_these_tests_assume():
    raw = example_config()
    assert raw["spoke"]["account_id"] == ACCOUNT and raw["spoke"]["roles"][0]["service_accounts"] == [f"{NS}:{SA}"]
    assert json.loads(json.dumps(raw))["hub"]["issuer_url"] == ISSUER
