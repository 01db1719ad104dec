"""scripts/thumbprint_lookup.py against the same loopback servers as the handler: a TLS issuer
presenting trustme chains (trusted through --cafile) and moto for the hub account.

The CLI refuses what the synth refuses (localhost, IP addresses and ports among them), so the TLS
servers here present certificates for public-looking names, and connections to NAME:443 are
routed to their loopback ports, as DNS and a load balancer would route them.
"""

import importlib.util
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import types

import pytest
import trustme
import yaml

from oidc_federation import validation as v
from thumbprint_fixtures import (  # noqa: F401  (fixtures are used by name)
    HUB_ACCOUNT,
    HUB_ISSUER,
    LOOKUP_ROLE_ARN,
    SPOKE_ACCOUNT,
    Chain,
    hub,
    moto_endpoint,
    oidc_servers,
    silent_server,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "thumbprint_lookup.py"
ISSUER_HOST = "oidc.example.com"
KEYS_HOST = "keys.example.net"


@pytest.fixture(scope="module")
def cli():
    spec = importlib.util.spec_from_file_location("thumbprint_lookup", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """Like thumbprint_fixtures' pki (same names, same shapes), for ISSUER_HOST and KEYS_HOST."""
    def ca(name, parent=None):
        authority = trustme.CA(parent_cert=parent, organization_unit_name=name)
        authority.name = name
        return authority

    def chain(leaf_name, issuer, *chain_cas, host):
        leaf = issuer.issue_cert(host, common_name=leaf_name)
        return Chain([leaf.cert_chain_pems[0].bytes()] + [c.cert_pem.bytes() for c in chain_cas],
                     leaf.private_key_pem.bytes(), [leaf_name] + [c.name for c in chain_cas])

    root_a = ca("Test Root A")
    inter_a1 = ca("Test Intermediate A1", root_a)
    root_b = ca("Test Root B")
    inter_b1 = ca("Test Intermediate B1", root_b)
    directory = tmp_path_factory.mktemp("cli-pki")
    bundle = directory / "trusted-roots.pem"
    bundle.write_bytes(root_a.cert_pem.bytes() + root_b.cert_pem.bytes())
    leaf_only = directory / "leaf.pem"
    leaf_only.write_bytes(inter_a1.issue_cert(ISSUER_HOST).cert_chain_pems[0].bytes())
    return types.SimpleNamespace(
        chain_a=chain("leaf A", inter_a1, inter_a1, host=ISSUER_HOST),
        chain_a_with_root=chain("leaf A", inter_a1, inter_a1, root_a, host=ISSUER_HOST),
        chain_b=chain("leaf B", inter_b1, inter_b1, host=KEYS_HOST),
        bundle=bundle, leaf_only=leaf_only)


@pytest.fixture
def port_443(monkeypatch):
    """host -> loopback port: connections to host:443 go there instead of to DNS."""
    routes = {}
    connect = socket.create_connection

    def route(address, *args, **kwargs):
        host, port = address[:2]
        if port == 443 and host in routes:
            address = ("127.0.0.1", routes[host])
        return connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", route)
    return routes


def serve_issuer(server, routes, path="/issuer1", jwks_uri=None):
    """server.serve_issuer with the URLs a real issuer has: https://HOST/PATH, on port 443."""
    routes[server.host] = server.port
    issuer = f"https://{server.host}{path}"
    jwks_uri = jwks_uri or issuer + "/keys"
    server.set_json(path + "/.well-known/openid-configuration",
                    {"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["id_token"]})
    if jwks_uri.startswith(issuer):
        server.serve_jwks(jwks_uri[len(f"https://{server.host}"):])
    return issuer


def error_line(err):
    """The failure as the user sees it: the last stderr line, the only one that is not progress."""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("thumbprint_lookup: error: "), err
    return lines[-1][len("thumbprint_lookup: error: "):]


# --- tls mode ---------------------------------------------------------------------------------------

def test_tls_prints_the_thumbprint_and_each_check(cli, pki, oidc_servers, port_443, capsys):
    # CASES 1 and 2: the intermediate's SHA-1 (last presented), not the leaf's.
    server = oidc_servers(pki.chain_a, host=ISSUER_HOST)
    issuer = serve_issuer(server, port_443)
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--cafile", str(pki.bundle)]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"thumbprint: {pki.chain_a.top_sha1}"
    assert pki.chain_a.leaf_sha1 not in out.splitlines()[0]
    for line in (f"  - discovery issuer matches: {issuer}",
                 f"  - jwks host: {ISSUER_HOST}:443 (same as the discovery host)",
                 "  - JWKS parses: 1 key(s)",
                 "  - chain presented: leaf A -> Test Intermediate A1",
                 f"  - verified against CA file {pki.bundle}",
                 f"  - thumbprint: SHA-1 of the last certificate presented (Test Intermediate A1), "
                 f"not of the leaf ({pki.chain_a.leaf_sha1})"):
        assert line in out.splitlines()
    assert f"thumbprint_lookup: connecting to {ISSUER_HOST}:443 for discovery document" in err
    assert "client IDs" not in out


def test_tls_json_with_the_jwks_on_another_host(cli, pki, oidc_servers, port_443, capsys):
    keys_server = oidc_servers(pki.chain_b, host=KEYS_HOST)
    keys_server.serve_jwks("/keys")
    port_443[KEYS_HOST] = keys_server.port
    issuer = serve_issuer(oidc_servers(pki.chain_a_with_root, host=ISSUER_HOST), port_443,
                          jwks_uri=f"https://{KEYS_HOST}/keys")
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--cafile", str(pki.bundle), "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["thumbprints"] == [pki.chain_b.top_sha1]
    assert result["client_ids"] == [] and result["mode"] == "tls" and result["issuer"] == issuer
    assert result["ok"] is True
    assert any("differs from the discovery host" in check for check in result["checks"])


def test_tls_without_the_test_ca_fails_verification(cli, pki, oidc_servers, port_443, capsys):
    # Without --cafile only the system store is trusted, which does not know the test root.
    server = oidc_servers(pki.chain_a, host=ISSUER_HOST)
    issuer = serve_issuer(server, port_443)
    assert cli.main(["--mode", "tls", "--issuer", issuer]) == 1

    err = capsys.readouterr().err
    assert error_line(err).startswith(
        f"discovery document {issuer}/.well-known/openid-configuration unreachable: "
        f"TLS to {ISSUER_HOST}:443 failed: certificate verify failed")
    assert "Traceback" not in err


def test_debug_prints_the_traceback(cli, pki, oidc_servers, port_443, capsys):
    issuer = serve_issuer(oidc_servers(pki.chain_a, host=ISSUER_HOST), port_443)
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "certificate verify failed" in error_line(err)


def test_a_server_that_never_answers_fails_within_the_timeout(cli, silent_server, port_443, capsys):
    # CASES 9, from the command line: --timeout bounds every network wait.
    port_443[ISSUER_HOST] = silent_server.port
    assert cli.main(["--mode", "tls", "--issuer", f"https://{ISSUER_HOST}", "--timeout", "2"]) == 1
    assert f"{ISSUER_HOST}:443 did not answer within 0.5s" in error_line(capsys.readouterr().err)


def test_json_failure_is_a_json_object_too(cli, pki, oidc_servers, port_443, capsys):
    issuer = serve_issuer(oidc_servers(pki.chain_a, host=ISSUER_HOST), port_443)
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--json"]) == 1
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result == {"ok": False, "error": error_line(err)}
    assert "certificate verify failed" in result["error"]
    # A refused argument as well, with its exit code 2.
    assert cli.main(["--mode", "tls", "--issuer", issuer + "/", "--json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out) == {"ok": False, "error": error_line(err)}
    assert json.loads(out)["error"].startswith(f"--issuer: '{issuer}/' ends with '/'")


# --- hub mode ---------------------------------------------------------------------------------------

def test_hub_with_a_role(cli, hub, capsys):
    hub.create_provider(client_ids=["sts.amazonaws.com", "openshift"], thumbprints=["C" * 40])
    assert cli.main(["--mode", "hub", "--issuer", HUB_ISSUER, "--hub-account-id", HUB_ACCOUNT,
                     "--role-arn", LOOKUP_ROLE_ARN, "--region", "us-east-1"]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines()[:2] == [f"thumbprint: {'c' * 40}", "client IDs: sts.amazonaws.com, openshift"]
    assert f"  - assumed {LOOKUP_ROLE_ARN}" in out.splitlines()
    assert f"thumbprint_lookup: assuming {LOOKUP_ROLE_ARN}" in err


def test_hub_with_the_current_credentials(cli, hub, capsys):
    # Run in the hub account itself: moto's default account stands for it here.
    hub.create_provider(account=SPOKE_ACCOUNT)
    assert cli.main(["--mode", "hub", "--issuer", HUB_ISSUER, "--hub-account-id", SPOKE_ACCOUNT,
                     "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["thumbprints"] == ["a" * 40] and result["client_ids"] == ["sts.amazonaws.com"]
    assert f"current credentials are for the hub account {SPOKE_ACCOUNT}" in result["checks"]


def test_hub_with_credentials_of_another_account(cli, hub, capsys):
    assert cli.main(["--mode", "hub", "--issuer", HUB_ISSUER, "--hub-account-id", HUB_ACCOUNT]) == 1
    assert error_line(capsys.readouterr().err).startswith(
        f"the current credentials are for account {SPOKE_ACCOUNT}, not the hub account {HUB_ACCOUNT}")


def test_hub_provider_missing(cli, hub, capsys):
    assert cli.main(["--mode", "hub", "--issuer", HUB_ISSUER, "--hub-account-id", HUB_ACCOUNT,
                     "--role-arn", LOOKUP_ROLE_ARN]) == 1
    assert error_line(capsys.readouterr().err).startswith(
        f"provider for {HUB_ISSUER} not found in hub account {HUB_ACCOUNT}")


def test_hub_role_that_cannot_be_assumed(cli, hub, capsys):
    with hub.caller_without_permissions():
        assert cli.main(["--mode", "hub", "--issuer", HUB_ISSUER, "--hub-account-id", HUB_ACCOUNT,
                         "--role-arn", LOOKUP_ROLE_ARN]) == 1
    assert error_line(capsys.readouterr().err).startswith(f"could not assume {LOOKUP_ROLE_ARN}: AccessDenied")


# --- arguments --------------------------------------------------------------------------------------

HUB = ["--mode", "hub", "--issuer", HUB_ISSUER]
HUB_ARGS = HUB + ["--hub-account-id", HUB_ACCOUNT]


def config_refusal(issuer):
    """What the CDK app's config check says about ``issuer`` as hub.issuer_url (after the key)."""
    from oidc_federation.config import ConfigError, parse_config

    raw = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    raw["hub"]["issuer_url"] = issuer
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, "federation.yaml")
    line = next(e for e in refused.value.errors if e.startswith("federation.yaml: hub.issuer_url: "))
    return line[len("federation.yaml: hub.issuer_url: "):]


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: --mode, --issuer"),
    (["--mode", "spoke", "--issuer", HUB_ISSUER], "argument --mode: invalid choice: 'spoke'"),
    (["--mode", "tls", "--issuer", "http://oidc.example.com"], "--issuer: " + config_refusal("http://oidc.example.com")),
    (["--mode", "tls", "--issuer", HUB_ISSUER, "--role-arn", LOOKUP_ROLE_ARN],
     "--role-arn applies to --mode hub, not --mode tls"),
    (["--mode", "tls", "--issuer", HUB_ISSUER, "--cafile", "/nonexistent/ca.pem"],
     "--cafile /nonexistent/ca.pem: no such file"),
    (HUB, "--mode hub needs --hub-account-id"),
    (HUB + ["--hub-account-id", "1111"], "--hub-account-id '1111' is not 12 digits"),
    (HUB + ["--hub-account-id", HUB_ACCOUNT, "--cafile", "ca.pem"], "--cafile applies to --mode tls, not --mode hub"),
    (HUB + ["--hub-account-id", HUB_ACCOUNT, "--role-arn", "oidc-thumbprint-lookup"],
     "--role-arn 'oidc-thumbprint-lookup' is not an IAM role ARN"),
    (HUB + ["--hub-account-id", "222222222222", "--role-arn", LOOKUP_ROLE_ARN],
     f"--role-arn {LOOKUP_ROLE_ARN} is in account {HUB_ACCOUNT}, but --hub-account-id is 222222222222"),
    (["--mode", "tls", "--issuer", HUB_ISSUER, "--timeout", "0"], "--timeout 0 must be more than 0"),
])
def test_bad_arguments_exit_2(cli, capsys, argv, expected):
    assert cli.main(argv) == 2
    assert f"thumbprint_lookup: error: {expected}" in capsys.readouterr().err


def test_help_exits_0(cli, capsys):
    assert cli.main(["--help"]) == 0
    assert "--hub-account-id" in capsys.readouterr().out


def test_the_script_runs_as_a_command():
    done = subprocess.run([sys.executable, str(SCRIPT), "--mode", "hub", "--issuer", HUB_ISSUER],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == "thumbprint_lookup: error: --mode hub needs --hub-account-id"


# Item 2: an issuer the synth refuses is refused here, in the config check's own words (CASES 4 among them).
@pytest.mark.parametrize("issuer", [
    HUB_ISSUER + "/",
    "https://oidc.op1.openshiftapps.com:8443/abc123",
    "https://OIDC.op1.openshiftapps.com/abc123",
    "http://oidc.op1.openshiftapps.com/abc123",
    "https://localhost/abc123",
], ids=["trailing-slash", "port", "upper-case-host", "http", "localhost"])
@pytest.mark.parametrize("mode", [["--mode", "tls"], ["--mode", "hub", "--hub-account-id", HUB_ACCOUNT]], ids=["tls", "hub"])
def test_issuers_the_synth_refuses_are_refused_with_its_message(cli, capsys, issuer, mode):
    assert cli.main(mode + ["--issuer", issuer]) == 2
    assert capsys.readouterr().err == f"thumbprint_lookup: error: --issuer: {config_refusal(issuer)}\n"


@pytest.mark.parametrize("argv, expected", [
    (["--timeout", "nan"], "--timeout 'nan' is not a number of seconds; give e.g. 30 or 2.5"),
    (["--timeout", "inf"], "--timeout 'inf' is not a number of seconds; give e.g. 30 or 2.5"),
    (["--timeout", "-1"], "--timeout '-1' is not a number of seconds; give e.g. 30 or 2.5"),
    (["--timeout", "1e9"], "--timeout '1e9' is not a number of seconds; give e.g. 30 or 2.5"),
    (["--partition", "aws-gov"], "--partition 'aws-gov' is not one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, "
                                 "aws-iso-e, aws-iso-f, aws-eusc; did you mean 'aws-us-gov'?"),
    (["--region", "us-east"], "--region: 'us-east' is not an AWS region name; e.g. us-east-2"),
    (["--region", "us-east-1\n"], "--region: 'us-east-1\\n' is not an AWS region name; e.g. us-east-2"),
    # Item 6: what validation.role_arn_problem and the character check say, as apply_manifests does.
    (["--role-arn", f"arn:aws:iam:::{HUB_ACCOUNT}:role/oidc-thumbprint-lookup"],
     f"--role-arn 'arn:aws:iam:::{HUB_ACCOUNT}:role/oidc-thumbprint-lookup' is not an IAM role ARN; expected "
     f"arn:aws:iam::<12-digit account>:role/<name> (it has 6 ':' where a role ARN has 5 (an extra ':'); did you mean "
     f"'arn:aws:iam::{HUB_ACCOUNT}:role/oidc-thumbprint-lookup'?)"),
    (["--role-arn", LOOKUP_ROLE_ARN + "\n"],
     f"--role-arn '{LOOKUP_ROLE_ARN}\\n' is not an IAM role ARN; expected arn:aws:iam::<12-digit account>:role/<name> "
     f"(it has a line break at position {len(LOOKUP_ROLE_ARN) + 1}; remove it)"),
    (["--role-arn", f"arn:aws:iam::{HUB_ACCOUNT}:role/r\u00f4le"],
     f"--role-arn 'arn:aws:iam::{HUB_ACCOUNT}:role/r\u00f4le' is not an IAM role ARN; expected arn:aws:iam::<12-digit "
     "account>:role/<name> (it has the non-ASCII character '\u00f4' (U+00F4 LATIN SMALL LETTER O WITH CIRCUMFLEX) at "
     "position 33; AWS identifiers are ASCII)"),
    (["--role-arn", "arn:aws:iam::\uff11" + HUB_ACCOUNT[1:] + ":role/x"],
     "--role-arn 'arn:aws:iam::\uff11" + HUB_ACCOUNT[1:] + ":role/x' is not an IAM role ARN; expected arn:aws:iam::<12-digit "
     "account>:role/<name> (it has the non-ASCII character '\uff11' (U+FF11 FULLWIDTH DIGIT ONE) at position 14; AWS "
     "identifiers are ASCII)"),
], ids=["timeout-nan", "timeout-inf", "timeout-negative", "timeout-exponent", "partition", "region", "region-newline",
        "role-arn-extra-colon", "role-arn-newline", "role-arn-non-ascii", "role-arn-fullwidth-digit"])
def test_hub_arguments_checked_as_the_config_checks_them(cli, capsys, argv, expected):
    assert cli.main(HUB_ARGS + argv) == 2
    assert capsys.readouterr().err == f"thumbprint_lookup: error: {expected}\n"


def test_hub_account_id_in_fullwidth_digits_is_refused(cli, capsys):
    fullwidth = "\uff11" * 12  # str.isdigit() and a Unicode \\d accept these
    assert cli.main(HUB + ["--hub-account-id", fullwidth]) == 2
    assert capsys.readouterr().err == f"thumbprint_lookup: error: --hub-account-id '{fullwidth}' is not 12 digits\n"


def test_a_region_botocore_does_not_know_is_a_warning(cli, hub, capsys):
    hub.create_provider()
    assert cli.main(HUB_ARGS + ["--role-arn", LOOKUP_ROLE_ARN, "--region", "us-east-99"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("thumbprint_lookup: warning: --region us-east-99 is not a region botocore ")
    assert "knows in partition aws; calls there fail unless it exists and botocore is older than it\n" in err


@pytest.mark.parametrize("content, expected", [
    (b"not a certificate\n", "not a PEM file of CA certificates (NO_CERTIFICATE_OR_CRL_FOUND); give the issuer's CA "
                             "certificate(s) in PEM, -----BEGIN CERTIFICATE----- blocks"),
    ("der", "not a PEM file of CA certificates (NO_CERTIFICATE_OR_CRL_FOUND); give the issuer's CA certificate(s) in PEM, "
            "-----BEGIN CERTIFICATE----- blocks"),
    ("leaf", "none of its 1 certificate(s) is a CA certificate (a server's own certificate cannot be trusted as one); "
             "give the PEM file of the issuing CA(s)"),
], ids=["text", "der", "leaf-only"])
def test_a_cafile_that_is_not_a_pem_ca_file_is_one_line(cli, pki, tmp_path, capsys, content, expected):
    path = tmp_path / "ca.pem"
    if content == "der":
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        content = x509.load_pem_x509_certificate(pki.bundle.read_bytes()).public_bytes(serialization.Encoding.DER)
    elif content == "leaf":
        content = pki.leaf_only.read_bytes()
    path.write_bytes(content)
    assert cli.main(["--mode", "tls", "--issuer", f"https://{ISSUER_HOST}", "--cafile", str(path)]) == 2
    assert capsys.readouterr().err == f"thumbprint_lookup: error: --cafile {path}: {expected}\n"


# --- item 1: started by any python3, as the README shows it ------------------------------------------

def outside_the_venv(interpreter_dir):
    """The environment of a shell without the venv: PATH leads `/usr/bin/env python3` to ``interpreter_dir``."""
    env = {k: val for k, val in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(dict.fromkeys([str(interpreter_dir), "/usr/bin", "/bin"]))
    python3 = shutil.which("python3", path=env["PATH"])
    if python3 is None:
        pytest.skip(f"no python3 in {interpreter_dir}")
    check = subprocess.run([python3, "-c", "import oidc_federation"], env=env, capture_output=True)
    if check.returncode == 0:
        pytest.skip(f"{python3} has the project installed itself; nothing to show")
    return env


MACHINE_PYTHONS = [pathlib.Path(sys.base_prefix) / "bin", pathlib.Path("/usr/bin")]


@pytest.mark.parametrize("interpreter_dir", MACHINE_PYTHONS, ids=["base-python", "usr-bin"])
def test_the_script_runs_with_the_machines_python3(interpreter_dir):
    env = outside_the_venv(interpreter_dir)
    done = subprocess.run([str(SCRIPT), "--mode", "hub", "--issuer", HUB_ISSUER, "--json"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    assert (done.returncode, done.stderr) == (2, "thumbprint_lookup: error: --mode hub needs --hub-account-id\n")
    assert json.loads(done.stdout) == {"ok": False, "error": "--mode hub needs --hub-account-id"}


def test_without_the_venv_one_line_says_to_run_setup(tmp_path):
    # A checkout before scripts/setup: the script and its helper, no .venv.
    (tmp_path / "scripts").mkdir()
    for name in ("thumbprint_lookup.py", "_venv.py"):
        shutil.copy2(ROOT / "scripts" / name, tmp_path / "scripts" / name)
    env = outside_the_venv(pathlib.Path(sys.base_prefix) / "bin")
    done = subprocess.run([str(tmp_path / "scripts" / "thumbprint_lookup.py"), "--mode", "tls", "--issuer", HUB_ISSUER],
                          capture_output=True, text=True, timeout=60, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", "thumbprint_lookup: error: the project is not set up; run scripts/setup first\n")
