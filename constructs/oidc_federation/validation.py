"""Checks shared by the config loader, the constructs and the operator scripts.

Each check takes a value and returns its canonical form or raises ``Invalid`` with a message that
says what is wrong and how to fix it; callers prefix the key (``hub.issuer_url: ...``). Nothing here
touches AWS or the network.
"""

from __future__ import annotations

import difflib
import functools
import re
from urllib.parse import urlsplit


class Invalid(ValueError):
    """A value that cannot be used; the message says what is wrong and the fix."""


ACCOUNT_ID = re.compile(r"^\d{12}\Z", re.ASCII)
SHA1_HEX = re.compile(r"^[0-9a-f]{40}\Z", re.ASCII)
# Kubernetes: a namespace is an RFC 1123 label, a service account name an RFC 1123 subdomain.
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z", re.ASCII)
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z", re.ASCII)
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}\Z", re.ASCII)
REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}\Z", re.ASCII)
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
POLICY_ARN = re.compile(r"^arn:(%s):iam::(\d{12}|aws):policy/[\w+=,.@/-]{1,512}\Z" % "|".join(PARTITIONS), re.ASCII)
ROLE_ARN = re.compile(r"^arn:(%s):iam::(\d{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]{1,64})\Z" % "|".join(PARTITIONS), re.ASCII)
HOST_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z", re.ASCII)

SA_PREFIX = "system:serviceaccount:"
DEFAULT_AUDIENCE = "sts.amazonaws.com"
MAX_THUMBPRINTS = 5  # IAM's limit per provider


def issuer(value: object) -> str:
    """The canonical issuer URL: ``https://host[/path]``, as the cluster's tokens carry it."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{value!r} is not a URL; give the cluster's spec.serviceAccountIssuer, e.g. https://oidc.op1.openshiftapps.com/abc123")
    if value != value.strip() or any(c.isspace() for c in value):
        raise Invalid(f"{value!r} contains white space; remove it")
    parts = urlsplit(value)
    host = parts.hostname or ""
    path = parts.path
    discovery = "/.well-known/openid-configuration"
    if path.endswith(discovery):
        path = path[:-len(discovery)]
    canonical = "https://" + host.lower() + path.rstrip("/")
    if parts.scheme != "https" or not value.startswith("https://"):
        raise Invalid(f"{value!r} must start with https:// (IAM only trusts HTTPS issuers); use {canonical}")
    if parts.username or parts.password:
        raise Invalid(f"{value!r} must not contain user info; use {canonical}")
    try:
        port = parts.port
    except ValueError:
        raise Invalid(f"{value!r} has an invalid port; use {canonical}") from None
    if port is not None or parts.netloc.endswith(":"):
        raise Invalid(f"{value!r} must not contain a port (IAM refuses one); use {canonical}")
    if parts.query or value.endswith("?"):
        raise Invalid(f"{value!r} must not contain a query; use {canonical}")
    if parts.fragment or "#" in value:
        raise Invalid(f"{value!r} must not contain a fragment; use {canonical}")
    if not host or not all(HOST_LABEL.match(label) for label in host.split(".")):
        raise Invalid(f"{value!r} has no valid host name; give the cluster's spec.serviceAccountIssuer")
    if host == "localhost" or host.endswith(".localhost") or re.fullmatch(r"[0-9.]+", host):
        raise Invalid(f"{value!r} is not a public DNS name; STS fetches the issuer's keys over the internet, "
                      "so the cluster's issuer must be a public https URL (on ROSA/EKS it always is)")
    if parts.path.endswith(discovery):
        raise Invalid(f"{value!r} is the discovery document's URL, not the issuer; use {canonical}")
    if parts.netloc != host:
        raise Invalid(f"{value!r} has upper-case letters in its host; tokens carry the issuer as written by the cluster, use {canonical}")
    if path.endswith("/"):
        # CASES.md 4: a provider for https://host/path/ matches no token issued by https://host/path.
        raise Invalid(f"{value!r} ends with '/', which no token's issuer matches; use the canonical form {canonical}")
    if "//" in path:
        raise Invalid(f"{value!r} has an empty path segment ('//'); use the issuer exactly as the cluster reports it")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise Invalid(f"{value!r} has a '.' or '..' path segment; use the issuer exactly as the cluster reports it")
    if not re.fullmatch(r"[A-Za-z0-9._~/%-]*", path, re.ASCII):
        # A ':' would also end the host/path part of the trust policy's condition keys early.
        raise Invalid(f"{value!r} has characters IAM does not accept in a provider path (only letters, digits and ._~-/); "
                      "use the issuer exactly as the cluster reports it")
    if len(value) > 255:
        raise Invalid(f"{value!r} is {len(value)} characters; IAM allows at most 255")
    return value


def prop(name: str, check, value):
    """``check(value)`` for a construct prop: ``Invalid`` becomes ``ValueError("name: message")``."""
    try:
        return check(value)
    except Invalid as exc:
        raise ValueError(f"{name}: {exc}") from None


def issuer_host_path(issuer_url: str) -> str:
    """``host/path`` of an issuer: the form IAM uses in provider ARNs and condition keys."""
    return issuer_url[len("https://"):]


def account_id(value: object) -> str:
    if isinstance(value, bool):
        raise Invalid(f"{value!r} is not an AWS account id; give 12 digits in quotes, e.g. \"111111111111\"")
    if isinstance(value, int):
        # YAML turns unquoted digits into a number: leading zeros become octal, 0x.. hex, so the
        # number cannot be trusted to be what was written.
        raise Invalid(f"{value} was read by YAML as a number, which loses leading zeros and reads 0x/0o forms; "
                      "quote the account id, e.g. \"012345678901\"")
    if not isinstance(value, str) or not ACCOUNT_ID.match(value):
        raise Invalid(f"{value!r} is not an AWS account id; give exactly 12 digits in quotes, e.g. \"111111111111\"")
    return value


def thumbprint(value: object) -> str:
    """A certificate's SHA-1 as 40 lowercase hex characters; colons and upper case are normalised."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise Invalid(f"{value!r} was read by YAML as a number; quote the thumbprint (40 hex characters)")
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{value!r} is empty; give the SHA-1 (40 hex characters) of the issuer's top intermediate CA")
    cleaned = value.strip().replace(":", "").lower()
    if re.fullmatch(r"[0-9a-f]{64}", cleaned):
        raise Invalid(f"{value!r} is a SHA-256 (64 hex); IAM wants the SHA-1 (40 hex) of the top intermediate CA, e.g. from scripts/thumbprint_lookup.py")
    if not SHA1_HEX.match(cleaned):
        raise Invalid(f"{value!r} is not a SHA-1 thumbprint; give 40 hex characters (colons and case are normalised)")
    return cleaned


def namespace(value: str) -> str:
    if len(value) > 63 or not DNS1123_LABEL.match(value):
        raise Invalid(f"namespace {value!r} is not a valid Kubernetes namespace; use lower-case letters, digits and '-', at most 63, starting and ending alphanumeric")
    return value


def service_account_name(value: str) -> str:
    if len(value) > 253 or not DNS1123_SUBDOMAIN.match(value):
        raise Invalid(f"service account name {value!r} is not valid in Kubernetes; use lower-case letters, digits, '-' and '.', at most 253")
    return value


def service_account(value: object) -> tuple[str, str]:
    """``namespace:name`` or ``system:serviceaccount:namespace:name`` -> (namespace, name)."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{value!r} is not a service account; write namespace:name, e.g. my-application-ca:default")
    if "*" in value or "?" in value:
        raise Invalid(f"{value!r} is a wildcard; a trust policy must name each service account (namespace:name), a wildcard would let any pod assume the role")
    text = value[len(SA_PREFIX):] if value.startswith(SA_PREFIX) else value
    parts = text.split(":")
    if len(parts) != 2:
        raise Invalid(f"{value!r} is not namespace:name; write e.g. my-application-ca:default or system:serviceaccount:my-application-ca:default")
    ns, name = parts
    return namespace(ns), service_account_name(name)


def subject(ns: str, name: str) -> str:
    """The ``sub`` claim of a service account token."""
    return f"{SA_PREFIX}{ns}:{name}"


def role_name(value: object) -> str:
    if not isinstance(value, str) or not ROLE_NAME.match(value):
        raise Invalid(f"{value!r} is not a valid IAM role name; use 1 to 64 letters, digits and +=,.@_-")
    return value


def role_arn(value: object) -> str:
    if not isinstance(value, str) or not ROLE_ARN.match(value):
        raise Invalid(f"{value!r} is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name>")
    return value


def policy_arn(value: object) -> str:
    if not isinstance(value, str) or not POLICY_ARN.match(value):
        raise Invalid(f"{value!r} is not an IAM policy ARN; expected arn:aws:iam::aws:policy/NAME or arn:aws:iam::<account>:policy/NAME")
    return value


def organization_id(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"o-[a-z0-9]{10,32}", value, re.ASCII):
        raise Invalid(f"{value!r} is not an AWS Organizations id; expected o- and 10 to 32 lower-case letters or digits, e.g. o-a1b2c3d4e5")
    return value


def organizational_unit_id(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32}", value, re.ASCII):
        raise Invalid(f"{value!r} is not an organizational unit id; expected ou-<4-32 chars>-<8-32 chars> (e.g. ou-abcd-11112222) or a root id r-abcd")
    return value


def region(value: object) -> str:
    if not isinstance(value, str) or not REGION.match(value):
        raise Invalid(f"{value!r} is not an AWS region name; e.g. us-east-2")
    return value


def audience_hint(audience: str) -> str | None:
    """A warning for audiences that are valid strings but likely wrong (CASES.md 8), else None."""
    if audience in (DEFAULT_AUDIENCE, "sts.amazonaws.com.cn"):  # the second is the audience in AWS China
        return None
    if audience == "openshift":
        return "'openshift' is the audience of OpenShift's own operator tokens; pods using the AWS SDK through the webhook present sts.amazonaws.com"
    if re.fullmatch(r"sts\.[a-z0-9-]+\.amazonaws\.com(\.cn)?", audience):
        return f"{audience!r} is a regional STS endpoint name; the pod identity webhook requests tokens for sts.amazonaws.com"
    if difflib.SequenceMatcher(None, audience, DEFAULT_AUDIENCE).ratio() >= 0.8:
        return f"{audience!r} looks like a typo of {DEFAULT_AUDIENCE!r}; tokens for a different audience are refused with 'Incorrect token audience'"
    return None


def close_match(word: str, choices) -> str:
    """' (did you mean X?)' for a misspelt key, else ''."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


# --- Kubernetes annotations and role ARNs as an operator types them (scripts/apply_manifests.py) ---

WEBHOOK_ANNOTATION_DOMAIN = "eks.amazonaws.com"
# The service-account annotations the pod identity webhook reads (EKS and OpenShift's copy alike).
WEBHOOK_ANNOTATIONS = tuple(f"{WEBHOOK_ANNOTATION_DOMAIN}/{name}" for name in
                            ("role-arn", "audience", "sts-regional-endpoints", "token-expiration"))
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]\Z", re.ASCII)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions needed to turn ``a`` into ``b``."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def annotation_key(value: object) -> str:
    """A Kubernetes annotation key: ``[prefix/]name``, prefix a DNS subdomain, name at most 63."""
    if not isinstance(value, str) or not value:
        raise Invalid(f"{value!r} is not an annotation key; write e.g. example.com/owner")
    prefix, _, name = value.rpartition("/")
    if "/" in prefix or (value.count("/") and not prefix):
        raise Invalid(f"annotation key {value!r} is not [prefix/]name; use one '/' after a DNS prefix, e.g. example.com/owner")
    if prefix and (len(prefix) > 253 or not DNS1123_SUBDOMAIN.match(prefix)):
        raise Invalid(f"annotation key {value!r} has prefix {prefix!r}, which is not a lower-case DNS subdomain; e.g. example.com/owner")
    if len(name) > 63 or not QUALIFIED_NAME.match(name):
        raise Invalid(f"annotation key {value!r} has name {name!r}; use at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric")
    return value


def webhook_annotation_near_miss(key: str) -> str | None:
    """The webhook annotation that ``key`` misspells, else None (CASES.md 12).

    A near miss is not one of ``WEBHOOK_ANNOTATIONS`` yet within 2 edits of one (ignoring case),
    or has a webhook name within 2 edits under a prefix that is plainly meant to be the webhook's
    (``eks.amazon.com/role-arn`` is 3 edits away, all of them in the prefix). The webhook ignores
    such keys and the pod silently gets no credentials.
    """
    if key in WEBHOOK_ANNOTATIONS:
        return None
    lowered = key.lower()
    prefix, _, name = lowered.rpartition("/")
    aws_like_prefix = (edit_distance(prefix, WEBHOOK_ANNOTATION_DOMAIN) <= 4 or "amazon" in prefix
                       or prefix.startswith("eks."))
    best = None
    for known in WEBHOOK_ANNOTATIONS:
        known_name = known.rpartition("/")[2]
        distance = edit_distance(lowered, known)
        if distance <= 2 or (aws_like_prefix and edit_distance(name, known_name) <= 2):
            if best is None or distance < best[0]:
                best = (distance, known)
    return best[1] if best else None


def role_arn_problem(value: str) -> str | None:
    """What makes ``value`` not an IAM role ARN, in words, with the corrected ARN where it is clear."""
    parts = value.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        return "an IAM role ARN has six ':'-separated fields: arn:PARTITION:iam::ACCOUNT:role/NAME"
    partition, service, region_field = parts[1], parts[2], parts[3]
    if "assumed-role/" in value:
        names = re.search(r"assumed-role/([^/]+)", value)
        account = next((p for p in parts if ACCOUNT_ID.match(p)), "ACCOUNT")
        suggestion = f"arn:{partition}:iam::{account}:role/{names.group(1)}"
        return f"it is an STS session (assumed-role) ARN, not the role's own ARN; did you mean {suggestion!r}?"
    if len(parts) > 6:
        fields = [p for p in parts[3:-1] if p]  # what sits between the service and the resource
        if len(fields) == 1 and ACCOUNT_ID.match(fields[0]):
            suggestion = ":".join(parts[:3] + ["", fields[0], parts[-1]])
            return f"it has {len(parts) - 1} ':' where a role ARN has 5 (an extra ':'); did you mean {suggestion!r}?"
        return f"it has {len(parts) - 1} ':' where a role ARN has 5 (an extra ':')"
    account, resource = parts[4], parts[5]
    if service != "iam":
        if ROLE_ARN.match(":".join(parts[:2] + ["iam"] + parts[3:])):
            return f"its service is {service!r}; a role ARN says 'iam'; did you mean {':'.join(parts[:2] + ['iam'] + parts[3:])!r}?"
        return f"its service is {service!r}; a role ARN says 'iam'"
    if partition not in PARTITIONS:
        return f"its partition {partition!r} is not one of {', '.join(PARTITIONS)}"
    if region_field:
        return f"IAM ARNs have no region; remove {region_field!r}"
    if not ACCOUNT_ID.match(account):
        digits = sum(c.isdigit() for c in account)
        return f"its account {account!r} has {digits} digits; an account id has exactly 12"
    if not resource.startswith("role/"):
        return f"its resource {resource!r} is not role/NAME"
    return None


# --- operator command lines (scripts/apply_manifests.py, scripts/thumbprint_lookup.py) ---

SECONDS = re.compile(r"^(\d+(\.\d*)?|\.\d+)\Z", re.ASCII)
# Namespaces of the cluster itself: annotating a service account there changes the identity of
# the cluster's own pods (kube-system holds controllers that use IRSA-style annotations too).
SYSTEM_NAMESPACE = re.compile(r"^(kube-.+|openshift|openshift-.+)\Z", re.ASCII)
# github.com/distribution/reference (the grammar kubelet and every registry use), names lower case.
IMAGE_DOMAIN = re.compile(r"^(localhost|[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*"
                          r"|\[[0-9A-Fa-f:]+\])(:\d+)?\Z", re.ASCII)
IMAGE_PATH_COMPONENT = re.compile(r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*\Z", re.ASCII)
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z", re.ASCII)
IMAGE_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}\Z", re.ASCII)


def seconds(value: str, *, zero: bool = False) -> float:
    """A command-line duration: a plain decimal number of seconds, finite, more than 0 (or 0 when ``zero``).

    ``float()`` alone would take ``nan``, ``inf``, ``1e9``, ``1_0``, surrounding white space and
    non-ASCII digits; none of them is a duration anyone means.
    """
    if not isinstance(value, str) or not SECONDS.match(value):
        raise Invalid(f"{value!r} is not a number of seconds; give e.g. 30 or 2.5")
    number = float(value)
    if number < 0 or (number == 0 and not zero):
        raise Invalid(f"{value} must be more than 0" if not zero else f"{value} must be 0 or more")
    return number


def is_system_namespace(value: str) -> bool:
    """Whether ``value`` is one of the cluster's own namespaces (kube-*, openshift, openshift-*)."""
    return bool(SYSTEM_NAMESPACE.match(value))


def text_problem(value: str) -> str | None:
    """White space, control characters or non-ASCII in an identifier, named with their position, else None.

    These are invisible or look like ASCII (``ô``, full-width digits) and make an otherwise right
    value fail a pattern, so the pattern's message alone misleads.
    """
    for index, char in enumerate(value):
        if char.isspace() or not char.isprintable():
            return f"it has {_char_name(char)} at position {index + 1}; remove it"
        if not char.isascii():
            return f"it has the non-ASCII character {char!r} ({_char_name(char)}) at position {index + 1}; AWS identifiers are ASCII"
    return None


def _char_name(char: str) -> str:
    import unicodedata

    names = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}
    return names.get(char) or f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def role_arn_hint(value: str) -> str | None:
    """Why ``value`` is not a role ARN, in words: its characters first, then its fields (``role_arn_problem``)."""
    return text_problem(value) or role_arn_problem(value)


def image_reference(value: object) -> str:
    """A container image reference as kubelet takes it: ``[registry[:port]/]path[:tag][@digest]``, path lower case."""
    example = "e.g. public.ecr.aws/aws-cli/aws-cli:2.37.10 or REPO@sha256:<64 hex>"
    if not isinstance(value, str) or not value:
        raise Invalid(f"{value!r} is not an image reference; {example}")
    problem = text_problem(value)
    if problem:
        raise Invalid(f"{value!r} is not an image reference: {problem}")
    name, _, digest = value.partition("@")
    if digest and not IMAGE_DIGEST.match(digest):
        raise Invalid(f"{value!r} has digest {digest!r}; a digest is ALGORITHM:HEX, e.g. sha256: and 64 hex characters")
    tag = ""
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not IMAGE_TAG.match(tag):
            raise Invalid(f"{value!r} has tag {tag!r}; a tag is at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")
    components = name.split("/")
    first = components[0]
    # As Docker decides: the first component is a registry when it has '.' or ':', is localhost, or has upper case.
    domain = first if len(components) > 1 and (any(c in first for c in ".:") or first == "localhost" or first != first.lower()) else ""
    path = components[1:] if domain else components
    if domain and not IMAGE_DOMAIN.match(domain):
        raise Invalid(f"{value!r} has registry {domain!r}, which is not a host name with an optional :port")
    if domain and domain != domain.lower() and "." not in domain and ":" not in domain:
        domain = ""  # an upper-case first component is a repository written in the wrong case
        path = components
    bad = [c for c in path if not IMAGE_PATH_COMPONENT.match(c)]
    if bad:
        fixed = "/".join(([domain] if domain else []) + [c.lower() for c in path]) + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        lowered = all(IMAGE_PATH_COMPONENT.match(c.lower()) for c in path)
        raise Invalid(f"{value!r} has repository part {bad[0]!r}; repository parts are lower-case letters and digits, "
                      "separated by one '.', '_', '__' or dashes" + (f"; did you mean {fixed!r}?" if lowered else f"; {example}"))
    if len(name) > 255:
        raise Invalid(f"{value!r} has a name of {len(name)} characters; at most 255")
    return value


@functools.lru_cache(maxsize=1)
def _known_regions() -> frozenset[str]:
    import boto3  # only here, once: reading botocore's endpoint data takes a moment

    session = boto3.session.Session()
    return frozenset(r for partition in session.get_available_partitions()
                     for r in session.get_available_regions("sts", partition_name=partition))


def region_hint(value: str) -> str | None:
    """A warning for a well-formed region name this botocore release does not know, else None.

    A warning, not an error: a region newer than the installed botocore is still valid.
    """
    known = _known_regions()
    if value in known:
        return None
    near = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.8)
    return (f"{value!r} is not a region botocore {__import__('botocore').__version__} knows"
            + (f"; did you mean {near[0]!r}?" if near else "; check the spelling"))

