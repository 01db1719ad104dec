"""scripts/thumbprint_lookup.py against the same loopback servers as the handler: a TLS issuer
presenting trustme chains (trusted through --cafile) and moto for the hub account."""

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest

from thumbprint_fixtures import (  # noqa: F401  (fixtures are used by name)
    HUB_ACCOUNT,
    HUB_ISSUER,
    LOOKUP_ROLE_ARN,
    SPOKE_ACCOUNT,
    hub,
    moto_endpoint,
    oidc_servers,
    pki,
    silent_server,
)

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "thumbprint_lookup.py"


@pytest.fixture(scope="module")
def cli():
    spec = importlib.util.spec_from_file_location("thumbprint_lookup", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_line(err):
    """The failure as the user sees it: the last stderr line, the only one that is not progress."""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("thumbprint_lookup: error: "), err
    return lines[-1][len("thumbprint_lookup: error: "):]


# --- tls mode ---------------------------------------------------------------------------------------

def test_tls_prints_the_thumbprint_and_each_check(cli, pki, oidc_servers, capsys):
    # CASES 1 and 2: the intermediate's SHA-1 (last presented), not the leaf's.
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--cafile", str(pki.bundle)]) == 0

    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"thumbprint: {pki.chain_a.top_sha1}"
    assert pki.chain_a.leaf_sha1 not in out.splitlines()[0]
    for line in (f"  - discovery issuer matches: {issuer}",
                 f"  - jwks host: localhost:{server.port} (same as the discovery host)",
                 "  - JWKS parses: 1 key(s)",
                 "  - chain presented: leaf A -> Test Intermediate A1",
                 f"  - verified against CA file {pki.bundle}",
                 f"  - thumbprint: SHA-1 of the last certificate presented (Test Intermediate A1), "
                 f"not of the leaf ({pki.chain_a.leaf_sha1})"):
        assert line in out.splitlines()
    assert f"thumbprint_lookup: connecting to localhost:{server.port} for discovery document" in err
    assert "client IDs" not in out


def test_tls_json_with_the_jwks_on_another_host(cli, pki, oidc_servers, capsys):
    keys_server = oidc_servers(pki.chain_b, host="127.0.0.1")
    keys_server.serve_jwks("/keys")
    issuer = oidc_servers(pki.chain_a_with_root).serve_issuer(jwks_uri=keys_server.base_url + "/keys")
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--cafile", str(pki.bundle), "--json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert result["thumbprints"] == [pki.chain_b.top_sha1]
    assert result["client_ids"] == [] and result["mode"] == "tls" and result["issuer"] == issuer
    assert any("differs from the discovery host" in check for check in result["checks"])


def test_tls_without_the_test_ca_fails_verification(cli, pki, oidc_servers, capsys):
    # Without --cafile only the system store is trusted, which does not know the test root.
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    assert cli.main(["--mode", "tls", "--issuer", issuer]) == 1

    err = capsys.readouterr().err
    assert error_line(err).startswith(
        f"discovery document {issuer}/.well-known/openid-configuration unreachable: "
        f"TLS to localhost:{server.port} failed: certificate verify failed")
    assert "Traceback" not in err


def test_debug_prints_the_traceback(cli, pki, oidc_servers, capsys):
    issuer = oidc_servers(pki.chain_a).serve_issuer()
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "certificate verify failed" in error_line(err)


def test_a_server_that_never_answers_fails_within_the_timeout(cli, silent_server, capsys):
    # CASES 9, from the command line: --timeout bounds every network wait.
    issuer = f"https://127.0.0.1:{silent_server.port}"
    assert cli.main(["--mode", "tls", "--issuer", issuer, "--timeout", "2"]) == 1
    assert f"127.0.0.1:{silent_server.port} did not answer within 0.5s" in error_line(capsys.readouterr().err)


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


@pytest.mark.parametrize("argv, expected", [
    ([], "the following arguments are required: --mode, --issuer"),
    (["--mode", "spoke", "--issuer", HUB_ISSUER], "argument --mode: invalid choice: 'spoke'"),
    (["--mode", "tls", "--issuer", "http://oidc.example.com"],
     "--issuer: IssuerUrl 'http://oidc.example.com' must be an https:// URL with a host"),
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
