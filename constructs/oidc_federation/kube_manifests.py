"""The Kubernetes objects of the federation test: namespace (or OpenShift ProjectRequest), the
annotated service account and a pod with the AWS CLI. Pure functions of validated inputs; no I/O.

Used by ``scripts/apply_manifests.py`` (see ``oidc_federation.kubernetes``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import yaml

from . import validation as v

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "spoke-oidc-federation"
# Our own annotations on the pod, recording what it was created for: a running pod never picks up
# a changed service-account annotation (CASES.md 12), so apply compares these and re-creates it.
POD_ROLE_ARN = "spoke-oidc-federation/role-arn"
POD_AUDIENCE = "spoke-oidc-federation/audience"
POD_SPEC_HASH = "spoke-oidc-federation/spec-hash"
# The default project template copies a ProjectRequest's description onto the namespace as this
# annotation; labels on a ProjectRequest are not copied, so cleanup recognises our projects by it.
OPENSHIFT_DESCRIPTION = "openshift.io/description"
PROJECT_DESCRIPTION = "Created by spoke-oidc-federation apply_manifests.py for the federation test; its cleanup deletes it."

ROLE_ARN_KEY, AUDIENCE_KEY, STS_REGIONAL_KEY, TOKEN_EXPIRATION_KEY = v.WEBHOOK_ANNOTATIONS

# Pinned by version tag (ECR Public, no Docker Hub pull limits). The registry's digest for this tag
# could not be confirmed from here; pin one with --image REPO:TAG@sha256:... where required.
DEFAULT_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.37.10"
CONTAINER = "aws-cli"
# Same volume name and path as the pod identity webhook: in --projected-token mode a webhook that
# does run finds the volume and the variables already there and leaves the pod alone.
TOKEN_VOLUME = "aws-iam-token"
TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
TOKEN_FILE = f"{TOKEN_DIR}/token"
HOME_DIR = "/home/aws-cli"
SESSION_NAME = "oidc-federation-test"
# Off OpenShift the pod needs a numeric non-root UID: the AWS CLI image runs as root by default,
# which runAsNonRoot refuses. On OpenShift the SCC assigns UID and fsGroup from the project's range
# and refuses fixed ones outside it, so none is set there.
NON_OPENSHIFT_UID = 65532
DEFAULT_LIFETIME = 3600
DEFAULT_PROJECTED_EXPIRATION = 3600  # Kubernetes' own default for expirationSeconds
MIN_TOKEN_EXPIRATION = 600  # Kubernetes refuses shorter projected tokens
MAX_TOKEN_EXPIRATION = 86400  # the webhook's default and EKS's maximum


@dataclass(frozen=True)
class Target:
    """One service account to test against one federated role."""

    role_name: str
    role_arn: str
    namespace: str
    service_account: str
    audience: str
    region: str
    # The service accounts (namespace:name) the role's trust policy names, for verify's messages.
    trusted: tuple[str, ...] = field(default=(), compare=False)

    @property
    def partition(self) -> str:
        return self.role_arn.split(":")[1]

    @property
    def account_id(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def pod_name(self) -> str:
        return pod_name(self.service_account)

    @property
    def label(self) -> str:
        return f"{self.namespace}:{self.service_account}"


@dataclass(frozen=True)
class PodOptions:
    """How the objects are made. Defaults: plain Kubernetes, the webhook injects the token."""

    image: str = DEFAULT_IMAGE
    openshift: bool = False
    projected_token: bool = False
    token_expiration: int | None = None
    lifetime: int = DEFAULT_LIFETIME
    extra_annotations: tuple[tuple[str, str], ...] = ()


def pod_name(service_account: str) -> str:
    """``oidc-federation-test-<service account>``, cut to Kubernetes' 253 with a hash when longer."""
    name = f"oidc-federation-test-{service_account}"
    if len(name) <= 253:
        return name
    digest = hashlib.sha256(service_account.encode()).hexdigest()[:8]
    return name[:244].rstrip("-.") + "-" + digest


def _labels() -> dict:
    return {MANAGED_BY_LABEL: MANAGED_BY}


def namespace_manifest(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": _labels()}}


def project_request_manifest(name: str) -> dict:
    """What ``oc new-project NAME --description=...`` sends; it can be created, not applied."""
    return {
        "apiVersion": "project.openshift.io/v1",
        "kind": "ProjectRequest",
        "metadata": {"name": name},
        "displayName": f"{name} (OIDC federation test)",
        "description": PROJECT_DESCRIPTION,
    }


def service_account_annotations(target: Target, options: PodOptions, *, explicit_audience: bool = False) -> dict:
    """The webhook annotations (none in --projected-token mode) and the operator's extra ones."""
    annotations: dict[str, str] = {}
    if not options.projected_token:
        annotations[ROLE_ARN_KEY] = target.role_arn
        # The webhook's default audience is sts.amazonaws.com; name it only when it differs, or
        # when the live account already carries an audience that apply must overwrite.
        if explicit_audience or target.audience != v.DEFAULT_AUDIENCE:
            annotations[AUDIENCE_KEY] = target.audience
        annotations[STS_REGIONAL_KEY] = "true"
        if options.token_expiration is not None:
            annotations[TOKEN_EXPIRATION_KEY] = str(options.token_expiration)
    annotations.update(options.extra_annotations)
    return annotations


def service_account_manifest(target: Target, options: PodOptions, *, managed: bool = True,
                             explicit_audience: bool = False) -> dict:
    """The service account; ``managed=False`` for one that existed before (no label, so cleanup keeps it)."""
    metadata: dict = {"name": target.service_account, "namespace": target.namespace}
    if managed:
        metadata["labels"] = _labels()
    annotations = service_account_annotations(target, options, explicit_audience=explicit_audience)
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def _container(target: Target, options: PodOptions) -> dict:
    env = [
        {"name": "AWS_REGION", "value": target.region},
        {"name": "AWS_DEFAULT_REGION", "value": target.region},
        {"name": "AWS_ROLE_SESSION_NAME", "value": SESSION_NAME},
        {"name": "AWS_PAGER", "value": ""},
        {"name": "HOME", "value": HOME_DIR},
    ]
    mounts = [{"name": "home", "mountPath": HOME_DIR}]
    if options.projected_token:
        env += [
            {"name": "AWS_ROLE_ARN", "value": target.role_arn},
            {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": TOKEN_FILE},
            {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        ]
        mounts.append({"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True})
    return {
        "name": CONTAINER,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        # The image's entrypoint is `aws`; the pod only waits for `exec`, then ends by itself.
        "command": ["sleep", str(options.lifetime)],
        "env": env,
        "volumeMounts": mounts,
        "resources": {
            "requests": {"cpu": "10m", "memory": "64Mi"},
            "limits": {"cpu": "500m", "memory": "256Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": True,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def pod_manifest(target: Target, options: PodOptions) -> dict:
    """The test pod; its annotations record the role, audience and a hash of its spec."""
    pod_security: dict = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if not options.openshift:
        pod_security.update(runAsUser=NON_OPENSHIFT_UID, runAsGroup=NON_OPENSHIFT_UID, fsGroup=NON_OPENSHIFT_UID)
    volumes: list[dict] = [{"name": "home", "emptyDir": {"sizeLimit": "64Mi"}}]
    if options.projected_token:
        volumes.append({"name": TOKEN_VOLUME, "projected": {"sources": [{"serviceAccountToken": {
            "audience": target.audience,
            "expirationSeconds": options.token_expiration or DEFAULT_PROJECTED_EXPIRATION,
            "path": "token",
        }}]}})
    spec = {
        "serviceAccountName": target.service_account,
        # The pod needs no Kubernetes API token; the web identity token is its own volume.
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 2,
        "securityContext": pod_security,
        "containers": [_container(target, options)],
        "volumes": volumes,
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": target.pod_name,
            "namespace": target.namespace,
            "labels": {**_labels(), "app.kubernetes.io/name": "oidc-federation-test"},
            "annotations": {
                POD_ROLE_ARN: target.role_arn,
                POD_AUDIENCE: target.audience,
                POD_SPEC_HASH: spec_hash(spec),
            },
        },
        "spec": spec,
    }


def spec_hash(spec: dict) -> str:
    """A short hash of a pod spec as rendered (Kubernetes forbids changing most of it in place)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def render(targets: list[Target], options: PodOptions) -> list[dict]:
    """Every object for ``targets``: namespaces (or ProjectRequests), service accounts, pods, in that order."""
    docs: list[dict] = []
    for ns in dict.fromkeys(t.namespace for t in targets):
        docs.append(project_request_manifest(ns) if options.openshift else namespace_manifest(ns))
    docs += [service_account_manifest(t, options) for t in targets]
    docs += [pod_manifest(t, options) for t in targets]
    return docs


def to_yaml(docs: list[dict], header: str = "") -> str:
    """Documents as multi-document YAML, keys in the order written; ``header`` lines become comments."""
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=1000)


def is_managed(obj: dict | None) -> bool:
    """Whether a live object was created by this script (our label, or our OpenShift project description)."""
    if not obj:
        return False
    metadata = obj.get("metadata") or {}
    if (metadata.get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY:
        return True
    return (metadata.get("annotations") or {}).get(OPENSHIFT_DESCRIPTION) == PROJECT_DESCRIPTION
