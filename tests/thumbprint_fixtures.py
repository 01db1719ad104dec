"""Loopback servers and certificates for the thumbprint handler and CLI tests.

Everything here is a real component: trustme certificate chains, TLS servers from the standard
library presenting those chains, an HTTP server receiving CloudFormation's response PUT, a TCP
server that accepts and never answers, and moto's server for the hub account's IAM and STS.
Test modules import the fixtures they use by name (tests/conftest.py belongs to the CDK tests).
"""

import contextlib
import http.server
import json
import logging
import socket
import ssl
import threading
import time
import urllib.request
import uuid

import boto3
import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

HUB_ACCOUNT = "111111111111"
SPOKE_ACCOUNT = "123456789012"  # moto's default account: the caller's own credentials
LOOKUP_ROLE_ARN = f"arn:aws:iam::{HUB_ACCOUNT}:role/oidc-thumbprint-lookup"
HUB_ISSUER = "https://oidc.op1.openshiftapps.com/abc123"


# --- certificates -----------------------------------------------------------------------------------

def sha1_of_pem(pem):
    """SHA-1 of a PEM certificate's DER, computed with cryptography, independent of the handler."""
    return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA1()).hex()


def der_of_pem(pem):
    return x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)


class Chain:
    """What a server presents (PEMs, leaf first) and its key."""

    def __init__(self, presented, key_pem, names):
        self.presented = presented
        self.key_pem = key_pem
        self.names = names

    @property
    def leaf_sha1(self):
        return sha1_of_pem(self.presented[0])

    @property
    def top_sha1(self):
        """The right thumbprint: SHA-1 of the LAST certificate presented (CASES 1, 2)."""
        return sha1_of_pem(self.presented[-1])


class Pki:
    """Roots A, B, C (trusted through `bundle`) and U (untrusted), with intermediates and leaves."""

    def __init__(self, directory):
        def ca(name, parent=None):
            authority = trustme.CA(parent_cert=parent, organization_unit_name=name)
            authority.name = name
            return authority

        def chain(leaf_name, issuer, *chain_cas, hosts=("localhost", "127.0.0.1")):
            leaf = issuer.issue_cert(*hosts, common_name=leaf_name)
            pems = [leaf.cert_chain_pems[0].bytes()] + [c.cert_pem.bytes() for c in chain_cas]
            names = [leaf_name] + [c.name for c in chain_cas]
            return Chain(pems, leaf.private_key_pem.bytes(), names)

        self.root_a = ca("Test Root A")
        inter_a1 = ca("Test Intermediate A1", self.root_a)
        inter_a2 = ca("Test Intermediate A2", self.root_a)
        root_b = ca("Test Root B")
        inter_b1 = ca("Test Intermediate B1", root_b)
        root_c = ca("Test Root C")
        root_u = ca("Untrusted Root")
        inter_u = ca("Untrusted Intermediate", root_u)

        # leaf -> intermediate, the usual case
        self.chain_a = chain("leaf A", inter_a1, inter_a1)
        # leaf -> intermediate -> root: some servers send the root too
        self.chain_a_with_root = chain("leaf A", inter_a1, inter_a1, self.root_a)
        # the same host after its intermediate rotated
        self.chain_a2 = chain("leaf A2", inter_a2, inter_a2)
        # a different CA, for the jwks host when it differs from the discovery host
        self.chain_b = chain("leaf B", inter_b1, inter_b1, hosts=("127.0.0.1",))
        # only one certificate presented: a leaf issued straight by a trusted root
        self.chain_single = chain("leaf C", root_c)
        self.chain_untrusted = chain("leaf U", inter_u, inter_u)

        self.bundle = directory / "trusted-roots.pem"
        self.bundle.write_bytes(b"".join(r.cert_pem.bytes() for r in (self.root_a, root_b, root_c)))


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def trust_test_roots(pki, monkeypatch):
    """Make ssl.create_default_context() (the handler's default) trust the test roots."""
    monkeypatch.setenv("SSL_CERT_FILE", str(pki.bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(pki.bundle.parent))
    return pki.bundle


# --- servers ----------------------------------------------------------------------------------------

class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client giving up on a test server is expected


class _OidcHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        route = self.server.owner.routes.get(self.path.split("?")[0])
        if callable(route):
            return route(self)
        status, body = route or (404, b'{"error": "not found"}')
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class OidcServer:
    """An HTTPS server on 127.0.0.1 presenting `chain`; routes map a path to (status, body)."""

    def __init__(self, chain, directory, host="localhost"):
        self.host = host
        self.routes = {}
        self._directory = directory
        self.use_chain(chain)
        owner = self

        class Server(_QuietServer):
            def get_request(self):
                sock, address = self.socket.accept()
                return owner.context.wrap_socket(sock, server_side=True,
                                                 do_handshake_on_connect=False), address

            def finish_request(self, request, client_address):
                request.settimeout(10)
                request.do_handshake()
                super().finish_request(request, client_address)

        self._server = Server(("127.0.0.1", 0), _OidcHandler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def use_chain(self, chain):
        """Present another chain from the next connection on (a certificate rotation)."""
        path = self._directory / f"chain-{uuid.uuid4().hex}.pem"
        path.write_bytes(b"".join(chain.presented) + chain.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(path)
        self.context = context

    @property
    def base_url(self):
        return f"https://{self.host}:{self.port}"

    def serve_issuer(self, path="/issuer1", jwks_uri=None, keys=None):
        """Serve discovery for issuer base_url+path, and a JWKS here unless jwks_uri is given."""
        issuer = self.base_url + path
        jwks_uri = jwks_uri or issuer + "/keys"
        self.set_json(path + "/.well-known/openid-configuration",
                      {"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["id_token"]})
        if jwks_uri.startswith(self.base_url):
            self.serve_jwks(jwks_uri[len(self.base_url):], keys)
        return issuer

    def serve_jwks(self, path, keys=None):
        self.set_json(path, {"keys": keys if keys is not None else [
            {"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256", "n": "AQAB", "e": "AQAB"}]})

    def set_json(self, path, document, status=200):
        self.routes[path] = (status, json.dumps(document).encode())

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def oidc_servers(tmp_path):
    """start(chain, host="localhost") -> a running OidcServer; all are stopped after the test."""
    started = []

    def start(chain, host="localhost"):
        server = OidcServer(chain, tmp_path, host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


class ResponseServer:
    """Receives CloudFormation's response PUTs. `refuse` first PUTs: "reset" drops the connection
    without an answer, "503" answers Service Unavailable."""

    def __init__(self):
        self.responses = []  # (seconds since start, headers, parsed body)
        self.attempts = 0
        self.refuse = []
        self._started = time.monotonic()
        self._cond = threading.Condition()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with owner._cond:
                    owner.attempts += 1
                    refusal = owner.refuse.pop(0) if owner.refuse else None
                if refusal == "reset":
                    self.close_connection = True
                    return
                if refusal == "503":
                    self.send_error(503)
                    return
                with owner._cond:
                    owner.responses.append((time.monotonic() - owner._started, dict(self.headers),
                                            json.loads(body)))
                    owner._cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        port = self._server.server_address[1]
        # A pre-signed URL carries a signature; the handler must not log it.
        self.url = f"http://127.0.0.1:{port}/cfn-response/abc?X-Amz-Signature=SIGNATURE-NOT-TO-LOG"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def restart_clock(self):
        self._started = time.monotonic()

    def wait_for(self, count, timeout):
        with self._cond:
            self._cond.wait_for(lambda: len(self.responses) >= count, timeout)
        return len(self.responses) >= count

    def only(self):
        """The single response received; fails if there were none or more than one."""
        assert len(self.responses) == 1, [r[2] for r in self.responses]
        return self.responses[0][2]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def cfn():
    server = ResponseServer()
    yield server
    server.stop()


class SilentServer:
    """Accepts TCP connections and never sends a byte (CASES 9: a hung endpoint)."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held = []
        self._stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def stop(self):
        self._stopped.set()
        self._listener.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.stop()


def closed_port():
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- moto: the hub account's IAM and STS --------------------------------------------------------------

@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _moto_post(endpoint, path, body=b""):
    request = urllib.request.Request(endpoint + path, data=body, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def aws_env(monkeypatch, endpoint, tmp_path):
    """Point boto3 at `endpoint` with dummy credentials and nothing from the machine's config."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


class Hub:
    """The hub account in moto: providers are created as the lookup role, like an operator would."""

    def __init__(self, endpoint, monkeypatch):
        self.endpoint = endpoint
        self._monkeypatch = monkeypatch

    def iam(self, account=HUB_ACCOUNT):
        if account == SPOKE_ACCOUNT:
            return boto3.client("iam")
        # moto maps an assumed role's credentials to the account in its ARN.
        credentials = boto3.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/test-admin", RoleSessionName="test-setup")["Credentials"]
        return boto3.client("iam", aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    def create_provider(self, url=HUB_ISSUER, client_ids=("sts.amazonaws.com",),
                        thumbprints=("A" * 40,), account=HUB_ACCOUNT):
        return self.iam(account).create_open_id_connect_provider(
            Url=url, ClientIDList=list(client_ids), ThumbprintList=list(thumbprints))["OpenIDConnectProviderArn"]

    @contextlib.contextmanager
    def caller_without_permissions(self):
        """Calls made as a spoke user without any policy, with moto's IAM enforcement on.

        moto's AssumeRole accepts any role, existing or not, unless its IAM authorisation is on;
        with it on, a caller whose policies do not allow sts:AssumeRole gets AccessDenied, which is
        what a spoke sees when the hub role does not trust it.
        """
        iam = boto3.client("iam")
        iam.create_user(UserName="spoke-without-permissions")
        key = iam.create_access_key(UserName="spoke-without-permissions")["AccessKey"]
        self._monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        self._monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        _moto_post(self.endpoint, "/moto-api/reset-auth", b"0")
        try:
            yield
        finally:
            _moto_post(self.endpoint, "/moto-api/reset-auth", b"inf")
            self._monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
            self._monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def hub(moto_endpoint, monkeypatch, tmp_path):
    """A fresh moto (state reset) with boto3 pointed at it."""
    _moto_post(moto_endpoint, "/moto-api/reset")
    aws_env(monkeypatch, moto_endpoint, tmp_path)
    return Hub(moto_endpoint, monkeypatch)


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """boto3 pointed at a port where nothing listens: any AWS call would fail."""
    aws_env(monkeypatch, f"http://127.0.0.1:{closed_port()}", tmp_path)


# --- the Lambda side ----------------------------------------------------------------------------------

class LambdaContext:
    """The part of the Lambda context object the handler uses."""

    def __init__(self, seconds=60.0):
        self._end = time.monotonic() + seconds
        self.aws_request_id = str(uuid.uuid4())
        self.log_stream_name = "2026/12/03/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self):
        return int(max(0.0, self._end - time.monotonic()) * 1000)


def cfn_event(request_type, properties, response_url, *, physical_id=None, old_properties=None):
    """A CloudFormation custom resource event as CloudFormation sends it."""
    event = {
        "RequestType": request_type,
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/spoke/5b6c3a30-0000-0000-0000-000000000000",
        "RequestId": str(uuid.uuid4()),
        "ResourceType": "Custom::OidcThumbprint",
        "LogicalResourceId": "HubThumbprint",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:lookup",
                               **properties},
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    return event


def hub_properties(issuer=HUB_ISSUER, **overrides):
    return {"Mode": "hub", "IssuerUrl": issuer, "HubAccountId": HUB_ACCOUNT,
            "HubLookupRoleArn": LOOKUP_ROLE_ARN, "Partition": "aws", **overrides}


def tls_properties(issuer):
    return {"Mode": "tls", "IssuerUrl": issuer}
