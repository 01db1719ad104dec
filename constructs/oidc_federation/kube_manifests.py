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
# Ownership, the one marker cleanup trusts: set by `apply` only on a namespace or service account it
# creates, never by `render` (rendered files applied by hand can land on objects that existed before).
OWN_PREFIX = "spoke-oidc-federation/"
CREATED_BY_APPLY = OWN_PREFIX + "created-by-apply"
# On a service account that existed before, what `apply` changed: JSON {key: {"previous": value or
# null, "applied": value}}; cleanup puts back each previous value that nobody changed since.
PREVIOUS_ANNOTATIONS = OWN_PREFIX + "previous-annotations"
# Our own annotations on the pod, recording what it was created for: a running pod never picks up
# a changed service-account annotation (CASES.md 12), so apply compares these and re-creates it.
POD_ROLE_ARN = OWN_PREFIX + "role-arn"
POD_AUDIENCE = OWN_PREFIX + "audience"
POD_SPEC_HASH = OWN_PREFIX + "spec-hash"
# The default project template copies a ProjectRequest's description onto the namespace as this
# annotation; labels on a ProjectRequest are not copied, so cleanup recognises our projects by it.
OPENSHIFT_DESCRIPTION = "openshift.io/description"
PROJECT_DESCRIPTION = "Created by spoke-oidc-federation apply_manifests.py for the federation test; its cleanup deletes it."
# What `render` writes instead: a project made from a rendered file is not apply's, so cleanup leaves it.
RENDERED_PROJECT_DESCRIPTION = "For the spoke-oidc-federation federation test (rendered by apply_manifests.py; delete it yourself)."

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


def _ownership(metadata: dict, created_by_apply: bool) -> dict:
    """``metadata`` with the label and the ownership annotation when ``apply`` creates the object."""
    if created_by_apply:
        metadata["labels"] = _labels()
        metadata["annotations"] = {CREATED_BY_APPLY: "true", **(metadata.get("annotations") or {})}
    return metadata


def namespace_manifest(name: str, *, created_by_apply: bool = False) -> dict:
    """The namespace; ``created_by_apply`` only from ``apply`` creating it (cleanup then deletes it)."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": _ownership({"name": name}, created_by_apply)}


def project_request_manifest(name: str, *, created_by_apply: bool = False) -> dict:
    """What ``oc new-project NAME --description=...`` sends; it can be created, not applied.

    The description is copied onto the project's namespace: ``PROJECT_DESCRIPTION`` (which cleanup
    trusts) only when ``apply`` creates it.
    """
    return {
        "apiVersion": "project.openshift.io/v1",
        "kind": "ProjectRequest",
        "metadata": {"name": name},
        "displayName": f"{name} (OIDC federation test)",
        "description": PROJECT_DESCRIPTION if created_by_apply else RENDERED_PROJECT_DESCRIPTION,
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


def service_account_manifest(target: Target, options: PodOptions, *, created_by_apply: bool = False,
                             explicit_audience: bool = False) -> dict:
    """The service account; ``created_by_apply`` only from ``apply`` creating it (cleanup then deletes it)."""
    metadata: dict = {"name": target.service_account, "namespace": target.namespace}
    annotations = service_account_annotations(target, options, explicit_audience=explicit_audience)
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _ownership(metadata, created_by_apply)}


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
    """Every object for ``targets``: namespaces (or ProjectRequests), service accounts, pods, in that order.

    Without the ownership marker: whoever applies them by hand owns them, and cleanup leaves them.
    """
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


def _metadata(obj: dict | None) -> dict:
    return (obj or {}).get("metadata") or {}


def annotations_of(obj: dict | None) -> dict:
    return _metadata(obj).get("annotations") or {}


def created_by_apply(obj: dict | None) -> bool:
    """Whether ``apply`` created this live namespace or service account (its annotation, or our project description).

    The ``managed-by`` label alone does not count: rendered files carried it, applied by hand onto
    objects that existed before.
    """
    annotations = annotations_of(obj)
    return annotations.get(CREATED_BY_APPLY) == "true" or annotations.get(OPENSHIFT_DESCRIPTION) == PROJECT_DESCRIPTION


def has_our_label(obj: dict | None) -> bool:
    """Whether a live object carries our managed-by label: enough to tell the test pod (apply may delete
    and re-create it), never enough to delete a namespace or service account."""
    return (_metadata(obj).get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY


class BadRecord(ValueError):
    """A ``PREVIOUS_ANNOTATIONS`` value that is not what apply writes."""


def read_record(obj: dict | None) -> dict[str, dict]:
    """The ``PREVIOUS_ANNOTATIONS`` record of a live service account ({} when there is none)."""
    text = annotations_of(obj).get(PREVIOUS_ANNOTATIONS)
    if not text:
        return {}
    try:
        record = json.loads(text)
    except ValueError:
        raise BadRecord(f"{PREVIOUS_ANNOTATIONS} is not JSON: {text[:200]!r}") from None
    if not isinstance(record, dict) or not all(
            isinstance(entry, dict) and isinstance(entry.get("applied"), str)
            and (entry.get("previous") is None or isinstance(entry.get("previous"), str)) for entry in record.values()):
        raise BadRecord(f"{PREVIOUS_ANNOTATIONS} is not {{KEY: {{\"previous\": VALUE or null, \"applied\": VALUE}}}}: {text[:200]!r}")
    return record


def _record_text(record: dict) -> str | None:
    return json.dumps(record, sort_keys=True, separators=(",", ":")) if record else None


def adopt_annotations(live: dict, desired: dict[str, str]) -> dict[str, str | None]:
    """The annotation changes (value, or None to remove) that make a service account apply did not
    create carry ``desired``, with the record of what they replace; {} when nothing changes.

    A key that already had the desired value is not recorded (it was there before, cleanup leaves it).
    A key recorded by an earlier apply keeps its first previous value; one that is no longer desired
    gets it back now, unless someone changed it since.
    """
    current = annotations_of(live)
    record = read_record(live)
    changes: dict[str, str | None] = {}
    for key, value in desired.items():
        if current.get(key) != value:
            changes[key] = value
            record.setdefault(key, {"previous": current.get(key)})
        if key in record:
            record[key]["applied"] = value
    for key in [k for k in record if k not in desired]:
        entry = record.pop(key)
        if current.get(key) == entry["applied"]:
            changes[key] = entry["previous"]
    text = _record_text(record)
    if text != current.get(PREVIOUS_ANNOTATIONS):
        changes[PREVIOUS_ANNOTATIONS] = text
    return changes


def restore_annotations(live: dict) -> tuple[dict[str, str | None], list[tuple[str, str | None, str]]]:
    """What cleanup changes on a service account apply did not create: each recorded key back to its
    previous value (or removed), and the record removed. Also the keys left as they are because they
    changed since apply: (key, value now, value apply set).
    """
    current = annotations_of(live)
    changes: dict[str, str | None] = {}
    changed_since: list[tuple[str, str | None, str]] = []
    for key, entry in read_record(live).items():
        if current.get(key) == entry["applied"]:
            changes[key] = entry["previous"]
        else:
            changed_since.append((key, current.get(key), entry["applied"]))
    if PREVIOUS_ANNOTATIONS in current:
        changes[PREVIOUS_ANNOTATIONS] = None
    return changes, changed_since


def annotate_args(target: Target, changes: dict[str, str | None]) -> tuple[str, ...]:
    """``kubectl annotate`` arguments for ``changes``: KEY=VALUE to set, KEY- to remove."""
    pairs = [f"{key}={value}" if value is not None else f"{key}-" for key, value in sorted(changes.items())]
    return ("annotate", "serviceaccount", target.service_account, "-n", target.namespace, "--overwrite", *pairs)
