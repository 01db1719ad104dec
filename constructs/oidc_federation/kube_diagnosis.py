"""Which link of the federation chain is broken, from the live pod and the AWS CLI's own words.

The chain, in the order it is checked:

1. the pod has a web identity: the pod identity webhook injected ``AWS_ROLE_ARN`` and
   ``AWS_WEB_IDENTITY_TOKEN_FILE`` and the token file (or ``--projected-token`` mounted them);
2. the spoke account has an OIDC provider for the token's issuer;
3. the provider accepts the token's audience;
4. the role's trust policy allows the pod's service account;
5. the identity STS returns is the expected role in the spoke account;
6. anything else the AWS CLI reports (its stderr is shown).

Pure functions of parsed JSON and captured output; no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable

from . import kube_manifests as km
from . import validation as v

LINKS = {
    1: "the pod has no web identity (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and the token file)",
    2: "the spoke account has no OIDC provider for the token's issuer",
    3: "the token's audience is not accepted",
    4: "the role's trust policy does not allow this service account",
    5: "the pod's identity is a different role or account",
    6: "the AWS CLI failed for another reason",
}

# The AWS CLI's words (botocore messages and STS error texts), as printed by `aws sts get-caller-identity`.
NO_CREDENTIALS = "Unable to locate credentials"
TOKEN_FILE_ERROR = re.compile(r"\[Errno (?:2|13)\] (No such file or directory|Permission denied): '([^']+)'")
NO_PROVIDER = re.compile(r"No OpenIDConnect provider found in your account for (\S+)")
INCORRECT_AUDIENCE = "Incorrect token audience"
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"
OTHER_HINTS = (
    ("Couldn't retrieve verification key from your identity provider",
     "STS could not fetch the issuer's keys (JWKS): the issuer URL must serve /.well-known/openid-configuration and its jwks_uri publicly over HTTPS"),
    ("doesn't match configured thumbprint",
     "the provider's thumbprint is not the issuer's CA: redeploy with thumbprint.source tls or hub, or the current CA's SHA-1"),
    ("ExpiredToken", "the projected token has expired: re-create the pod (apply) and check the node's clock"),
    ("You must specify a region", "the pod has no region: pass --region or set spoke.region, then apply again"),
    ("Could not connect to the endpoint URL",
     "the pod cannot reach STS: allow egress to sts.<region>.amazonaws.com (proxy, egress firewall or NetworkPolicy)"),
    ("is not activated in this region", "STS is disabled in this region for the account: activate it in IAM > Account settings, or use another --region"),
)
WAITING_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError",
                    "CreateContainerError", "CrashLoopBackOff", "RunContainerError")


@dataclass(frozen=True)
class Diagnosis:
    """The verdict for one target: ``link`` 0 when the chain holds, else the first broken link."""

    link: int
    summary: str
    details: tuple[str, ...] = ()
    fix: str = ""
    identity: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.link == 0


@dataclass(frozen=True)
class PodState:
    ready: bool
    phase: str
    reason: str  # the container's waiting/terminated reason, or ""
    message: str
    failed: bool  # will not become Ready by waiting

    def describe(self) -> str:
        text = f"phase {self.phase}"
        if self.reason:
            text += f" ({self.reason})"
        return text


def pod_state(pod: dict) -> PodState:
    status = pod.get("status") or {}
    phase = status.get("phase") or "Unknown"
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    reason = message = ""
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        detail = state.get("waiting") or state.get("terminated")
        if detail:
            reason, message = detail.get("reason") or "", detail.get("message") or ""
            break
    if not reason:
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                reason, message = cond.get("reason") or "Unschedulable", cond.get("message") or ""
    if pod.get("metadata", {}).get("deletionTimestamp"):
        reason = reason or "Terminating"
    failed = phase in ("Succeeded", "Failed") or reason in WAITING_FAILURES
    return PodState(ready=ready and phase == "Running", phase=phase, reason=reason, message=message, failed=failed)


def not_ready_fix(state: PodState, target: km.Target, image: str) -> str:
    if state.phase in ("Succeeded", "Failed"):
        return "the test pod has ended (it sleeps for --pod-lifetime seconds); run apply again to re-create it"
    if state.reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
        return f"the node cannot pull {image}; mirror it where the cluster can pull and pass --image"
    if "runAsNonRoot" in state.message or "run as root" in state.message:
        return "the image would run as root; on OpenShift add --openshift, elsewhere keep the default UID"
    return f"see the events: kubectl describe pod -n {target.namespace} {target.pod_name}"


def _container(pod: dict) -> dict:
    containers = (pod.get("spec") or {}).get("containers") or []
    return next((c for c in containers if c.get("name") == km.CONTAINER), containers[0] if containers else {})


def pod_env(pod: dict) -> dict[str, str]:
    return {e.get("name"): e.get("value", "") for e in _container(pod).get("env") or [] if e.get("name")}


def token_audience(pod: dict) -> str | None:
    """The audience of the pod's web identity token, from the volume mounted at the token path."""
    mounts = {m.get("name"): m.get("mountPath", "") for m in _container(pod).get("volumeMounts") or []}
    token_file = pod_env(pod).get("AWS_WEB_IDENTITY_TOKEN_FILE", km.TOKEN_FILE)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        mount = mounts.get(volume.get("name"))
        if mount is None or not token_file.startswith(mount.rstrip("/") + "/"):
            continue
        for source in (volume.get("projected") or {}).get("sources") or []:
            token = source.get("serviceAccountToken")
            if token:
                return token.get("audience") or None
    return None


def check_injection(pod: dict, target: km.Target, *, projected: bool,
                    service_account: Callable[[], dict | None] = lambda: None) -> Diagnosis | None:
    """Link 1 from the live pod spec (the webhook's changes are visible there), before any exec.

    ``service_account`` fetches the live service account, called only when the webhook did not act.
    """
    env = pod_env(pod)
    missing = [name for name in ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE") if not env.get(name)]
    mounted = token_audience(pod) is not None or any(
        m.get("mountPath", "").rstrip("/") == km.TOKEN_DIR for m in _container(pod).get("volumeMounts") or [])
    recreate = "run apply again: it re-creates the pod (a running pod never picks up a changed annotation)"
    if projected:
        if missing or not mounted:
            return Diagnosis(1, LINKS[1], (f"the pod lacks {', '.join(missing) or 'the token volume'} although --projected-token sets them",),
                             f"it was not made by apply --projected-token; {recreate}")
        return None
    if not missing and mounted:
        if env["AWS_ROLE_ARN"] != target.role_arn:
            return Diagnosis(1, LINKS[1], (
                f"the webhook injected AWS_ROLE_ARN={env['AWS_ROLE_ARN']}, not {target.role_arn}: the pod was created "
                "before the service account's annotation changed",), recreate)
        return None
    details = [f"the pod's container has no {', '.join(missing) or 'token volume mount'}: the pod identity webhook did not change it"]
    details += service_account_findings(service_account(), target)
    fix = (f"annotate the service account with {km.ROLE_ARN_KEY} (apply does), check that the webhook runs "
           f"(kubectl get mutatingwebhookconfiguration pod-identity-webhook; on clusters without it use --projected-token), then {recreate}")
    return Diagnosis(1, LINKS[1], tuple(details), fix)


def service_account_findings(sa: dict | None, target: km.Target) -> list[str]:
    """What the live service account's annotations tell about a pod the webhook did not change."""
    if sa is None:
        return [f"service account {target.namespace}/{target.service_account} does not exist"]
    annotations = (sa.get("metadata") or {}).get("annotations") or {}
    found = []
    for key, value in annotations.items():
        near = v.webhook_annotation_near_miss(key)
        if near:
            found.append(f"the service account has annotation {key!r}, which the webhook ignores; the key is {near!r}")
    arn = annotations.get(km.ROLE_ARN_KEY)
    if arn is None:
        found.append(f"the service account has no {km.ROLE_ARN_KEY} annotation")
    elif arn != target.role_arn:
        found.append(f"the service account's {km.ROLE_ARN_KEY} is {arn!r}, not {target.role_arn!r}")
    else:
        found.append(f"the service account carries {km.ROLE_ARN_KEY} correctly, so the pod was created before "
                     "the annotation, or before the webhook's cache of service accounts saw it (the webhook reads them "
                     "from an informer cache, a moment behind), or no pod identity webhook runs in this cluster")
    return found


def _sts_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.startswith("command terminated with exit code")]
    for line in lines:
        if "An error occurred" in line:
            return line
    return lines[0] if lines else ""


def classify(returncode: int, stdout: str, stderr: str, target: km.Target, *, issuer_url: str,
             client_ids: tuple[str, ...], audience: str | None,
             config_source: str) -> Diagnosis:
    """The verdict from ``aws sts get-caller-identity --output json`` run in the pod."""
    said = _sts_line(stderr)
    if returncode == 0:
        try:
            identity = json.loads(stdout)
            arn = identity["Arn"]
        except (ValueError, KeyError, TypeError):
            return Diagnosis(6, LINKS[6], (f"the AWS CLI printed no identity: {stdout.strip()[:300]!r}",),
                             "run the command in the pod by hand to see what it prints")
        expected = re.compile(r"arn:%s:sts::%s:assumed-role/%s/[^/\s]+" % (
            re.escape(target.partition), re.escape(target.account_id), re.escape(target.role_name)), re.ASCII)
        if isinstance(arn, str) and expected.fullmatch(arn):
            return Diagnosis(0, f"{target.label} is {arn}", identity=identity)
        return Diagnosis(5, LINKS[5], (
            f"the pod is {arn}",
            f"expected arn:{target.partition}:sts::{target.account_id}:assumed-role/{target.role_name}/...",
        ), "the credentials come from elsewhere (another role on the service account, or the node's instance "
           "profile when nothing was injected); check the pod's AWS_ROLE_ARN and the service account's annotation, then apply again",
            identity=identity if isinstance(identity, dict) else {})

    token_file = TOKEN_FILE_ERROR.search(stderr)
    if NO_CREDENTIALS in stderr or token_file:
        detail = said if not token_file else f"the token file {token_file.group(2)} cannot be read: {token_file.group(1)}"
        fix = ("the token is mounted but unreadable by the pod's user: keep the default fsGroup (or --openshift on OpenShift)"
               if token_file and token_file.group(1) == "Permission denied" else
               f"check the service account's {km.ROLE_ARN_KEY} annotation key and that the webhook runs, then run apply again (it re-creates the pod)")
        return Diagnosis(1, LINKS[1], (f"the AWS CLI said: {detail}",), fix)

    no_provider = NO_PROVIDER.search(stderr)
    if no_provider:
        url = no_provider.group(1)
        details = [f"the AWS CLI said: {said}"]
        fix = (f"create the provider for {url} in account {target.account_id} (deploy SpokeStack there with "
               "spoke.provider.mode: create, or check the provider of mode: existing)")
        if url != issuer_url:
            details.append(f"the pod's tokens are issued by {url}, but hub.issuer_url in {config_source} is {issuer_url}")
            canonical = url.rstrip("/")
            fix = (f"set hub.issuer_url to the cluster's issuer exactly ({canonical}; a provider URL must equal the token's "
                   "issuer, no trailing slash) and redeploy SpokeStack")
        return Diagnosis(2, LINKS[2], tuple(details), fix)

    if INCORRECT_AUDIENCE in stderr:
        details = [f"the AWS CLI said: {said}"]
        if audience:
            details.append(f"the pod's token is for audience {audience!r}; the provider's client IDs are {list(client_ids)}")
        return Diagnosis(3, LINKS[3], tuple(details),
                         f"use an audience the provider lists: set the role's audience (or --audience) to one of "
                         f"spoke.provider.client_ids, or add {audience or 'it'} there and redeploy; then apply again")

    if NOT_AUTHORIZED in stderr:
        subject = v.subject(target.namespace, target.service_account)
        if target.label in target.trusted:
            fix = (f"{config_source} trusts {target.label}, so the deployed role differs from it: redeploy SpokeStack from "
                   f"this config; the same error appears when the role {target.role_arn} does not exist or its trust "
                   "policy names another provider")
        else:
            fix = (f"add {target.label} to the role's service_accounts and redeploy (or test one it lists); the same error "
                   f"appears when the role {target.role_arn} does not exist or trusts another provider")
        return Diagnosis(4, LINKS[4], (
            f"the AWS CLI said: {said}",
            f"the pod's token says sub={subject}, aud={audience or '?'}; role {target.role_name} trusts "
            f"{', '.join(target.trusted) or 'no service account'} in {config_source}",
        ), fix)

    hint = next((text for marker, text in OTHER_HINTS if marker in stderr), "")
    details = tuple(f"  {line}" for line in stderr.strip().splitlines() if line.strip()) or ("  (no output)",)
    return Diagnosis(6, LINKS[6], (f"the AWS CLI exited {returncode} and said:",) + details,
                     hint or "read the AWS CLI's message above")
