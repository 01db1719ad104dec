"""CloudFormation custom resource: the thumbprint(s) a spoke account's IAM OIDC provider needs.

Inlined as ZipFile code (handler index.handler): standard library and boto3 only, no work at
import. scripts/thumbprint_lookup.py and the tests use the same functions.

ResourceProperties (strings; others, such as ServiceToken, are ignored):
  Mode              "hub": copy the hub account's IAM OIDC provider; "tls": read the TLS chain
  IssuerUrl         https issuer URL, e.g. https://oidc.op1.openshiftapps.com/abc123
  HubAccountId      hub mode: the 12-digit hub account id
  HubLookupRoleArn  hub mode: the role in the hub account to assume for the IAM reads
  Partition         hub mode: aws, aws-cn, aws-us-gov, ... (for the provider ARN)
  RequiredClientIds hub mode, optional: comma-separated audiences the hub provider must list
                    (the spoke mirrors its client IDs); FAILED if any is missing
Create/Update SUCCESS Data has exactly two keys:
  Thumbprints  comma-separated lowercase 40-hex SHA-1s, 1 to 5, never empty
  ClientIds    hub mode: the hub provider's client IDs, comma-separated, never empty;
               tls mode: always "sts.amazonaws.com", a placeholder meaningful only in hub mode
Delete answers SUCCESS with empty Data, with no network call but the answer.
PhysicalResourceId: "thumbprint-lookup:<issuer host/path>" on Create; Update and Delete reuse the
id CloudFormation sends, so an update never replaces the resource.
"""

import collections
import difflib
import hashlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

SESSION_NAME = "oidc-thumbprint-lookup"
TLS_MODE_CLIENT_IDS = "sts.amazonaws.com"
PHYSICAL_ID_PREFIX = "thumbprint-lookup:"
MAX_THUMBPRINTS = 5  # IAM's limit per provider
MAX_REASON_CHARS = 1000  # the whole response body must stay under 4096 bytes
MAX_CLIENT_IDS_CHARS = 2000
MAX_DOCUMENT_BYTES = 1 << 20
NETWORK_TIMEOUT_CAP = 10.0
RESPONSE_MARGIN_CAP = 5.0  # the watchdog answers this long before the Lambda deadline
PUT_ATTEMPTS = 3

_HEX40 = re.compile(r"[0-9a-f]{40}")
ACCOUNT_ID = re.compile(r"\d{12}")
ROLE_ARN = re.compile(r"arn:(aws(?:-[a-z]+)*):iam::(\d{12}):role/[\w+=,.@/-]+")

# Thumbprints (lowercase hex), client IDs (hub mode) and the checks made, for people.
LookupResult = collections.namedtuple("LookupResult", "thumbprints client_ids checks")


class ThumbprintLookupError(Exception):
    """An expected failure; str() is one line saying what was tried and what to fix."""


class Deadline:
    """A time budget; network timeouts are shares of what is left, so no call outlives it."""

    def __init__(self, seconds):
        self._end = time.monotonic() + max(0.0, seconds)

    def left(self):
        return max(0.0, self._end - time.monotonic())

    def timeout(self, share=4):
        return max(0.1, min(NETWORK_TIMEOUT_CAP, self.left() / share))


def _quiet(_step):
    pass


def _log(message):
    print(f"[thumbprint-lookup] {message}", flush=True)


def _fail(message):
    raise ThumbprintLookupError(message) from None


# --- URLs and thumbprints

def normalise_url(url):
    """Lowercase scheme and host, no default port, no trailing slash; accepts IAM's scheme-less Url."""
    text = str(url).strip()
    parts = urllib.parse.urlsplit(text if "://" in text else "https://" + text)
    scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    host = f"[{host}]" if ":" in host else host
    if port is not None and not (scheme == "https" and port == 443):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


def check_issuer_url(url):
    """The canonical form of an issuer URL, or ThumbprintLookupError naming what is wrong."""
    if not isinstance(url, str):
        _fail(f"IssuerUrl {url!r} is not a string")
    try:
        parts = urllib.parse.urlsplit(url.strip())
        canonical = normalise_url(url)
    except (AttributeError, ValueError) as exc:
        _fail(f"IssuerUrl {url!r} is not a valid URL ({exc})")
    if parts.scheme.lower() != "https" or not parts.hostname:
        _fail(f"IssuerUrl {url!r} must be an https:// URL with a host")
    if parts.query or parts.fragment or parts.username or parts.password:
        _fail(f"IssuerUrl {url!r} must not have a query, fragment or user; canonical: {canonical}")
    return canonical


def issuer_host_path(url):
    """The issuer as IAM writes it in a provider ARN: host/path, without https://."""
    return normalise_url(url).split("://", 1)[1]


def provider_arn(partition, account_id, issuer_url):
    """ARN of the IAM OIDC provider for issuer_url in account_id."""
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer_host_path(issuer_url)}"


def normalise_thumbprints(values, source):
    """Lowercase 40-hex SHA-1s without colons, duplicates dropped; refuses anything else (CASES 3)."""
    result = []
    for raw in values or []:
        value = re.sub(r"[\s:]", "", str(raw)).lower()
        if not _HEX40.fullmatch(value):
            sha256 = re.fullmatch(r"[0-9a-f]{64}", value)
            _fail(f"{source} has thumbprint {str(raw)[:80]!r}, not a SHA-1 of 40 hex digits"
                  + (" (64 hex digits is a SHA-256 fingerprint; IAM wants SHA-1)" if sha256 else "")
                  + "; fix the thumbprint there or use tls mode")
        if value not in result:
            result.append(value)
    if not result:
        _fail(f"{source} has no thumbprints; set the SHA-1 of its top intermediate CA there "
              "(aws iam update-open-id-connect-provider-thumbprint) or use tls mode")
    if len(result) > MAX_THUMBPRINTS:
        _fail(f"{source} has {len(result)} thumbprints, more than IAM's {MAX_THUMBPRINTS}")
    return result


def sha1_hex(der):
    """Hex SHA-1 of DER bytes: what IAM calls a thumbprint."""
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()


# --- tls mode

def presented_chain(sock):
    """DER certificates exactly as the peer sent them, leaf first (not the verified path)."""
    if hasattr(sock, "get_unverified_chain"):  # public from Python 3.13, the Lambda runtime
        chain = sock.get_unverified_chain()
    else:  # 3.10-3.12: the same call on the private object
        chain = sock._sslobj.get_unverified_chain()
    return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain or []]


def _chain_names(sock, count):
    """Subject names of the presented chain, for people; positions if they cannot be read."""
    names = []
    try:
        for cert in sock._sslobj.get_unverified_chain():
            subject = dict(pair for rdn in cert.get_info()["subject"] for pair in rdn)
            names.append(subject.get("commonName") or subject.get("organizationalUnitName", "?"))
    except Exception:  # cosmetic: never fail the lookup for a name
        pass
    return names if len(names) == count else [f"certificate #{i + 1}" for i in range(count)]


def _network_problem(exc, host, port, phase, timeout):
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"TLS to {host}:{port} failed: certificate verify failed: "
                f"{exc.verify_message or exc}; its chain must lead to a trusted CA")
    if isinstance(exc, ssl.SSLError):
        return f"TLS to {host}:{port} failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return (f"{host}:{port} did not answer within {timeout:.1f}s while {phase}; "
                "check network access from here to it")
    if isinstance(exc, ConnectionRefusedError):
        return f"connection to {host}:{port} refused"
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup of {host} failed ({exc.strerror}); check the host name"
    return f"{host}:{port} failed while {phase}: {type(exc).__name__}: {exc}"


def https_get_json(url, what, *, ssl_context, deadline, progress=_quiet, want_chain=False):
    """(JSON, presented DER chain, names) of url over verified HTTPS, directly (no proxy)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or 443
    timeout, phase, chain, names = deadline.timeout(), "connecting (TCP and TLS handshake)", [], []
    progress(f"connecting to {host}:{port} for {what} (timeout {timeout:.1f}s)")
    conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl_context)
    try:
        conn.connect()
        if want_chain:
            chain = presented_chain(conn.sock)
            names = _chain_names(conn.sock, len(chain))
        timeout, phase = deadline.timeout(), "waiting for the HTTP response"
        conn.sock.settimeout(timeout)
        progress(f"fetching {what} {url} (timeout {timeout:.1f}s)")
        conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                     headers={"Accept": "application/json", "User-Agent": SESSION_NAME})
        response = conn.getresponse()
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, http.client.HTTPException) as exc:
        _fail(f"{what} {url} unreachable: {_network_problem(exc, host, port, phase, timeout)}")
    finally:
        conn.close()
    if response.status != 200:
        moved = response.getheader("Location")
        _fail(f"{what} {url} unreachable: HTTP {response.status} {response.reason}"
              + (f" (redirect to {moved}; configure the final URL)" if moved else ""))
    if len(body) > MAX_DOCUMENT_BYTES:
        _fail(f"{what} at {url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body), chain, names
    except ValueError as exc:
        _fail(f"{what} at {url} is not JSON ({exc})")


def lookup_tls(issuer_url, *, ssl_context=None, cafile=None, deadline=None, progress=_quiet):
    """SHA-1 of the last certificate the jwks_uri host presents, as AWS documents (never the leaf).

    ssl_context or cafile: trust other than the system CA store (tests, CLI --cafile).
    """
    issuer = check_issuer_url(issuer_url)
    deadline = deadline or Deadline(60)
    context = ssl_context or ssl.create_default_context(cafile=cafile)
    trust = ("the caller's TLS context" if ssl_context else
             f"CA file {cafile}" if cafile else "the system CA store")
    checks = []
    discovery_url = issuer + "/.well-known/openid-configuration"
    document = https_get_json(discovery_url, "discovery document", ssl_context=context,
                              deadline=deadline, progress=progress)[0]
    if not isinstance(document, dict):
        _fail(f"discovery document at {discovery_url} is not a JSON object")
    found = document.get("issuer")
    try:
        same = normalise_url(found) == issuer if isinstance(found, str) else False
    except ValueError:
        same = False
    if not same:
        _fail(f"discovery document at {discovery_url} has issuer {found!r}, expected {issuer}; "
              "the configured issuer URL must equal the tokens' iss claim")
    checks.append(f"discovery issuer matches: {found}"
                  + ("" if found == issuer else f" (equal to {issuer} after normalising)"))

    jwks_uri = document.get("jwks_uri")
    try:
        jwks = urllib.parse.urlsplit(jwks_uri)
        host, port = jwks.hostname, jwks.port or 443
    except (TypeError, AttributeError, ValueError):
        host = None
    if not host or jwks.scheme != "https":
        _fail(f"discovery document at {discovery_url} has jwks_uri {jwks_uri!r}; an https URL is needed")
    discovery = urllib.parse.urlsplit(issuer)
    checks.append(f"jwks host: {host}:{port}" + (
        " (same as the discovery host)" if (host.lower(), port) == (discovery.hostname, discovery.port or 443)
        else " (differs from the discovery host; the thumbprint is of the jwks host, as AWS documents)"))

    keys, chain, names = https_get_json(jwks_uri, "JWKS", ssl_context=context, deadline=deadline,
                                        progress=progress, want_chain=True)
    if not isinstance(keys, dict) or not isinstance(keys.get("keys"), list):
        _fail(f"JWKS at {jwks_uri} has no \"keys\" list")
    checks.append(f"JWKS parses: {len(keys['keys'])} key(s)" + ("; no token can be verified yet"
                                                                if not keys["keys"] else ""))
    if not chain:
        _fail(f"TLS to {host}:{port} presented no certificate")
    checks.append("chain presented: " + " -> ".join(names))
    if len(chain) == 1:
        checks.append("only one certificate presented (no intermediate): using it; "
                      "its thumbprint changes whenever it is renewed")
    checks.append(f"verified against {trust}")
    thumbprint = sha1_hex(chain[-1])
    checks.append(f"thumbprint: SHA-1 of the last certificate presented ({names[-1]})"
                  + (f", not of the leaf ({sha1_hex(chain[0])})" if len(chain) > 1 else ""))
    return LookupResult([thumbprint], [], checks)


# --- hub mode

def lookup_hub(issuer_url, hub_account_id, *, role_arn=None, partition="aws", region=None,
               deadline=None, progress=_quiet):
    """Thumbprints and client IDs of the hub account's IAM OIDC provider for issuer_url.

    role_arn: assumed first; without it the caller's own credentials must be the hub account's.
    """
    # Imported here, inside the handler's guard: even an import failure is answered FAILED.
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    issuer = check_issuer_url(issuer_url)
    deadline = deadline or Deadline(60)
    arn = canonical = provider_arn(partition, hub_account_id, issuer)
    session = boto3.session.Session(region_name=region)
    checks = []

    def client(service, **credentials):
        timeout = deadline.timeout(share=5)  # two attempts of connect + read fit in what is left
        return session.client(service, **credentials, config=Config(
            connect_timeout=timeout, read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": 2}))

    def said(exc):
        error = exc.response.get("Error", {}) if isinstance(exc, ClientError) else {}
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', exc)}"

    if role_arn:
        progress(f"assuming {role_arn}")
        try:
            credentials = client("sts").assume_role(
                RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=900)["Credentials"]
        except (BotoCoreError, ClientError) as exc:
            if type(exc).__name__ == "NoCredentialsError":
                _fail(f"could not assume {role_arn}: no AWS credentials were found; set them "
                      "(profile, SSO or environment) for an account HubStack trusts")
            _fail(f"could not assume {role_arn}: {said(exc)}; deploy HubStack in the hub account "
                  "and list this spoke account in it")
        checks.append(f"assumed {role_arn}")
        iam = client("iam", aws_access_key_id=credentials["AccessKeyId"],
                     aws_secret_access_key=credentials["SecretAccessKey"],
                     aws_session_token=credentials["SessionToken"])
        reader = role_arn
    else:
        progress("checking which account the current credentials belong to")
        try:
            account = client("sts").get_caller_identity()["Account"]
        except (BotoCoreError, ClientError) as exc:
            _fail(f"could not use the current credentials: {said(exc)}")
        if account != hub_account_id:
            _fail(f"the current credentials are for account {account}, not the hub account "
                  f"{hub_account_id}; use credentials of the hub account or a role to assume there")
        checks.append(f"current credentials are for the hub account {account}")
        iam, reader = client("iam"), "the current credentials"

    def iam_call(operation, **kwargs):
        progress(f"IAM {operation}")
        try:
            return getattr(iam, operation)(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return None
            _fail(f"IAM {operation} in hub account {hub_account_id} as {reader} failed: {said(exc)}")
        except BotoCoreError as exc:
            _fail(f"IAM {operation} in hub account {hub_account_id} failed: {said(exc)}")

    provider = iam_call("get_open_id_connect_provider", OpenIDConnectProviderArn=arn)
    if provider is not None:
        checks.append(f"hub provider found: {arn}")
    else:
        # Not at the canonical ARN: perhaps registered as https://HOST/path/ (CASES 4).
        listed = [p["Arn"] for p in (iam_call("list_open_id_connect_providers") or {}).get(
            "OpenIDConnectProviderList", [])]
        urls = {}
        for other in listed:
            try:
                urls[normalise_url(other.split(":oidc-provider/", 1)[1])] = other
            except (IndexError, ValueError):
                continue
        if issuer not in urls:
            near = difflib.get_close_matches(issuer, list(urls), n=2, cutoff=0.75)
            _fail(f"provider for {issuer} not found in hub account {hub_account_id} (checked {arn} "
                  f"and {len(listed)} listed provider(s)"
                  + (f"; near matches there: {', '.join(near)}" if near else "")
                  + "); create it there or fix hub.issuer_url / hub.account_id")
        arn = urls[issuer]
        provider = iam_call("get_open_id_connect_provider", OpenIDConnectProviderArn=arn) or {}
        checks.append(f"hub provider found by URL: {arn} (not at the canonical ARN {canonical})")

    thumbprints = normalise_thumbprints(provider.get("ThumbprintList"), f"hub provider {arn}")
    checks.append(f"hub provider thumbprints: {len(thumbprints)}, each 40 hex digits (SHA-1)")
    client_ids = [str(c) for c in provider.get("ClientIDList") or []]
    if not client_ids:
        _fail(f"hub provider {arn} has no client IDs (audiences); add the audience the tokens "
              "carry (e.g. sts.amazonaws.com) to it")
    if any("," in c for c in client_ids) or len(",".join(client_ids)) > MAX_CLIENT_IDS_CHARS:
        _fail(f"hub provider {arn} client IDs cannot be passed on (a comma in one, or more than "
              f"{MAX_CLIENT_IDS_CHARS} characters in all)")
    checks.append(f"hub provider client IDs: {', '.join(client_ids)}")
    return LookupResult(thumbprints, client_ids, checks)


# --- provider.mode: adopt (Kind "provider")

CREATED = "created:"
ADOPTED = "adopted:"
OWNER_TAG = "spoke-oidc-federation:owner"


def _string_list(value, name, *, required):
    """A CloudFormation list property (or comma-separated string) as a list of non-empty strings."""
    items = value.split(",") if isinstance(value, str) else value
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        _fail(f"invalid event: {name} is not a list of strings")
    items = [i for i in items if i]
    if required and not items:
        _fail(f"invalid event: {name} is empty")
    return items


def manage_provider(event, deadline, progress=_quiet):
    """(Data, reason, physical id) for the account's provider: adopt one that exists, else create it.

    Ownership is the provider's OWNER_TAG, whose value is the stack's id: a provider carrying this
    stack's id was created by it (updated in place, deleted with it); any other one is adopted and
    never changed or deleted (CASES 5), even if it replaced ours out of band. The physical id says
    which, ``created:<arn>`` or ``adopted:<arn>``, for people reading the stack's resources.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    request_type, given = event.get("RequestType"), str(event.get("PhysicalResourceId") or "")
    stack_id = str(event.get("StackId") or "")
    stack = stack_id.split(":")
    if len(stack) < 6 or not ACCOUNT_ID.fullmatch(stack[4]):
        _fail(f"invalid event: StackId {stack_id!r} names no account")
    timeout = deadline.timeout(share=5)
    iam = boto3.client("iam", config=Config(connect_timeout=timeout, read_timeout=timeout,
                                            retries={"mode": "standard", "total_max_attempts": 2}))

    def call(operation, missing_ok=False, **kwargs):
        progress(f"IAM {operation}")
        try:
            return getattr(iam, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if missing_ok and code in ("NoSuchEntity", "EntityAlreadyExists"):
                return code
            message = exc.response.get("Error", {}).get("Message", exc)
            _fail(f"IAM {operation} failed: {code}: {message}; check the function role's permissions")
        except BotoCoreError as exc:
            _fail(f"IAM {operation} failed: {exc}")

    def get(arn):
        found = call("get_open_id_connect_provider", missing_ok=True, OpenIDConnectProviderArn=arn)
        return None if found == "NoSuchEntity" else found

    def ours(arn):
        tags = call("list_open_id_connect_provider_tags", missing_ok=True, OpenIDConnectProviderArn=arn)
        return isinstance(tags, dict) and any(
            t.get("Key") == OWNER_TAG and t.get("Value") == stack_id for t in tags.get("Tags", []))

    if request_type == "Delete":
        arn = given[len(CREATED):] if given.startswith(CREATED) else None
        if arn is None:
            return {}, f"left {given or 'nothing'} alone: this stack did not create it", given
        if get(arn) is None:
            return {}, f"{arn} is already gone", given
        if not ours(arn):
            return {}, f"left {arn} alone: it no longer carries this stack's {OWNER_TAG} tag", given
        call("delete_open_id_connect_provider", missing_ok=True, OpenIDConnectProviderArn=arn)
        return {}, f"deleted {arn}, which this stack created", given

    props = event.get("ResourceProperties") or {}
    issuer = check_issuer_url(props.get("IssuerUrl"))
    client_ids = _string_list(props.get("ClientIds"), "ClientIds", required=True)
    given_thumbprints = _string_list(props.get("Thumbprints"), "Thumbprints", required=False)
    thumbprints = normalise_thumbprints(given_thumbprints, "Thumbprints") if given_thumbprints else []
    required = _string_list(props.get("RequiredClientIds"), "RequiredClientIds", required=False)
    arn = provider_arn(stack[1], stack[4], issuer)
    owned = {"Arn": arn, "Adopted": "false"}

    current = get(arn)
    if current is None:
        options = {"ThumbprintList": thumbprints} if thumbprints else {}
        made = call("create_open_id_connect_provider", missing_ok=True, Url=issuer, ClientIDList=client_ids,
                    Tags=[{"Key": OWNER_TAG, "Value": stack_id}], **options)
        if made != "EntityAlreadyExists":
            return owned, f"created {arn}", CREATED + arn
        current = get(arn) or {}  # made meanwhile: by us (a retried call) or by someone else
    if ours(arn):  # ours: bring it in line with the template, in place
        if thumbprints and sorted(thumbprints) != sorted(
                t.lower() for t in current.get("ThumbprintList") or []):
            call("update_open_id_connect_provider_thumbprint", OpenIDConnectProviderArn=arn, ThumbprintList=thumbprints)
        have = current.get("ClientIDList") or []
        for cid in client_ids:
            if cid not in have:
                call("add_client_id_to_open_id_connect_provider", OpenIDConnectProviderArn=arn, ClientID=cid)
        for cid in have:
            if cid not in client_ids:
                call("remove_client_id_from_open_id_connect_provider", OpenIDConnectProviderArn=arn, ClientID=cid)
        return owned, f"{arn} is this stack's; brought in line in place", CREATED + arn
    have = current.get("ClientIDList") or []
    missing = [c for c in required if c not in have]
    if missing:
        _fail(f"the existing provider {arn} lists client IDs {','.join(have) or 'none'}, without "
              f"{','.join(missing)} that the roles use as audience; add them to that provider "
              "(this stack never changes a provider it did not create)")
    return ({"Arn": arn, "Adopted": "true"},
            f"adopted the existing {arn}; this stack will not change or delete it", ADOPTED + arn)


# --- the custom resource

def physical_id(event):
    """CloudFormation's id when it sends one (Update, Delete), else derived from the issuer."""
    given = event.get("PhysicalResourceId")
    if event.get("RequestType") != "Create" and isinstance(given, str) and given:
        return given
    try:
        name = issuer_host_path(check_issuer_url(event["ResourceProperties"]["IssuerUrl"]))
    except Exception:  # no usable issuer: still deterministic
        name = str(event.get("LogicalResourceId") or "unknown")
    if len(name) > 200:  # CloudFormation limits the id; keep it unique and stable
        name = name[:160] + "~" + hashlib.sha256(name.encode()).hexdigest()[:16]
    return PHYSICAL_ID_PREFIX + name


def check_properties(event):
    """The validated ResourceProperties of a Create/Update; all problems in one error."""
    props = event.get("ResourceProperties")
    if not isinstance(props, dict):
        _fail("invalid event: ResourceProperties is missing")
    problems, mode = [], props.get("Mode")
    if mode not in ("hub", "tls"):
        problems.append(f"Mode {mode!r} is not 'hub' or 'tls'")
    try:
        checked = {"Mode": mode, "IssuerUrl": check_issuer_url(props.get("IssuerUrl"))}
    except ThumbprintLookupError as exc:
        problems.append(str(exc))
    if mode == "hub":
        account, role, partition = (props.get(k) for k in (
            "HubAccountId", "HubLookupRoleArn", "Partition"))
        if not isinstance(account, str) or not ACCOUNT_ID.fullmatch(account):
            problems.append(f"HubAccountId {account!r} is not 12 digits")
        match = ROLE_ARN.fullmatch(role) if isinstance(role, str) else None
        if not match:
            problems.append(f"HubLookupRoleArn {role!r} is not an IAM role ARN")
        elif match.group(2) != account:
            problems.append(f"HubLookupRoleArn {role} is in account {match.group(2)} but "
                            f"HubAccountId is {account}")
        elif match.group(1) != partition:  # this also refuses a malformed Partition
            problems.append(f"HubLookupRoleArn {role} is in partition {match.group(1)} but "
                            f"Partition is {partition!r}")
    if problems:
        _fail("invalid event: " + "; ".join(problems))
    return dict(props, **checked)


def _one_line(text, limit):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _redacted(event):
    """The event for the log, without the response URL's signature (it grants write access)."""
    if not isinstance(event, dict):
        return repr(event)[:2000]
    shown = dict(event)
    if isinstance(shown.get("ResponseURL"), str):
        shown["ResponseURL"] = shown["ResponseURL"].split("?")[0] + "?<redacted>"
    return _one_line(json.dumps(shown, default=str), 4000)


def _put(url, body, deadline):
    """PUT body to the pre-signed URL, retrying connection errors and 5xx; True if accepted."""
    for attempt in range(1, PUT_ATTEMPTS + 1):
        timeout = max(1.0, min(NETWORK_TIMEOUT_CAP, deadline.left() / (PUT_ATTEMPTS - attempt + 1)))
        request = urllib.request.Request(url, data=body, method="PUT", headers={
            "Content-Type": "", "Content-Length": str(len(body))})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
            return True
        except urllib.error.HTTPError as exc:
            problem = f"HTTP {exc.code} {exc.reason}"
            if exc.code < 500:
                _log(f"the answer was refused ({problem}); not retrying")
                return False
        except (OSError, ValueError, http.client.HTTPException) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        _log(f"answer attempt {attempt}/{PUT_ATTEMPTS} failed: {problem}")
        if attempt < PUT_ATTEMPTS:
            time.sleep(min(0.5 * attempt, deadline.left() / 4))
    return False


class _Responder:
    """Sends one answer per invocation, whichever of the work and the watchdog comes first."""

    def __init__(self, event, context, deadline):
        self._event, self._deadline = event, deadline
        self._log_stream = getattr(context, "log_stream_name", None)
        self._lock = threading.Lock()
        self.sent = None

    def send(self, status, reason, physical, data=None):
        # The lock is held during the PUT: the handler cannot return while the watchdog sends.
        with self._lock:
            if self.sent:
                _log(f"already answered {self.sent}; dropping the late {status}: {reason}")
                return
            self.sent = status
            _log(f"answering {status} for {physical}: {reason}")
            if status == "FAILED" and self._log_stream:
                reason = f"{_one_line(reason, MAX_REASON_CHARS - 120)} (log stream {self._log_stream})"
            answer = {"Status": status, "Reason": _one_line(reason, MAX_REASON_CHARS),
                      "PhysicalResourceId": physical, "NoEcho": False, "Data": data or {}}
            for key in ("StackId", "RequestId", "LogicalResourceId"):
                answer[key] = self._event.get(key)
            body = json.dumps(answer).encode()
            if len(body) > 4000:  # CloudFormation refuses larger answers
                answer["Reason"] = _one_line(answer["Reason"], 200)
                body = json.dumps(answer).encode()
            delivered = _put(self._event["ResponseURL"], body, self._deadline)
            _log("answer accepted" if delivered else
                 "the answer could not be delivered; CloudFormation will wait for its timeout")


class _Tracker:
    """Remembers the step in progress, for the watchdog's reason, and logs each one."""

    def __init__(self):
        self.step = "starting"

    def __call__(self, step):
        self.step = step
        _log(step)


def _work(event, deadline, progress):
    """(Data, reason, physical id or None for the default); raises ThumbprintLookupError."""
    request_type = event.get("RequestType")
    if request_type not in ("Create", "Update", "Delete"):
        _fail(f"invalid event: RequestType {request_type!r} is not Create, Update or Delete")
    if (event.get("ResourceProperties") or {}).get("Kind") == "provider":
        return manage_provider(event, deadline, progress)
    if request_type == "Delete":  # nothing was created, nothing to check (CASES 10)
        return {}, "nothing to delete", None
    props = check_properties(event)
    if props["Mode"] == "hub":
        result = lookup_hub(props["IssuerUrl"], props["HubAccountId"], deadline=deadline,
                            role_arn=props["HubLookupRoleArn"], partition=props["Partition"],
                            progress=progress)
        client_ids = ",".join(result.client_ids)
        # The spoke mirrors these client IDs: each audience a role trusts must be among them.
        required = [c for c in str(props.get("RequiredClientIds") or "").split(",") if c]
        missing = [c for c in required if c not in result.client_ids]
        if missing:
            _fail(f"the hub provider for {props['IssuerUrl']} lists client IDs {client_ids}, without "
                  f"{','.join(missing)} that the spoke roles use as audience; add them to the hub "
                  "provider or set spoke.provider.mirror_hub_client_ids: false")
    else:
        result = lookup_tls(props["IssuerUrl"], deadline=deadline, progress=progress)
        client_ids = TLS_MODE_CLIENT_IDS
    for check in result.checks:
        _log(f"check: {check}")
    data = {"Thumbprints": ",".join(result.thumbprints), "ClientIds": client_ids}
    return data, f"{props['Mode']} mode: thumbprints {data['Thumbprints']}", None


def handler(event, context):
    """Lambda entry point: answers CloudFormation exactly once, before the function times out."""
    started = time.monotonic()
    try:
        remaining = max(0.0, context.get_remaining_time_in_millis() / 1000.0)
    except Exception:
        remaining = 60.0
    _log(f"event: {_redacted(event)}")
    url = event.get("ResponseURL") if isinstance(event, dict) else None
    if not url or not isinstance(url, str):
        _log("the event has no ResponseURL; there is nobody to answer")
        return
    responder = _Responder(event, context, Deadline(remaining))
    work_deadline = Deadline(remaining - min(RESPONSE_MARGIN_CAP, remaining / 4))
    physical = physical_id(event)
    progress = _Tracker()

    def on_timeout():
        responder.send("FAILED", f"timed out after {time.monotonic() - started:.0f}s while "
                       f"{progress.step}; answered before the function's {remaining:.0f}s limit; "
                       "check network access from this function", physical)

    watchdog = threading.Timer(work_deadline.left(), on_timeout)
    watchdog.daemon = True
    watchdog.start()
    status, data = "FAILED", None
    try:
        data, reason, physical = _work(event, work_deadline, progress)
        physical = physical or physical_id(event)
        status = "SUCCESS"
    except ThumbprintLookupError as exc:
        reason = str(exc)
    except Exception as exc:  # a bug: still answer, with enough to find it in the log
        reason = f"unexpected {type(exc).__name__} while {progress.step}: {exc}"
        _log(traceback.format_exc())
    finally:
        watchdog.cancel()
    responder.send(status, reason, physical, data)
