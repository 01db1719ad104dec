"""The thumbprint custom resource handler, driven with CloudFormation events against loopback
servers: TLS issuers presenting trustme chains, moto for the hub account's IAM and STS, and an HTTP
server receiving the response CloudFormation waits for."""

import ast
import importlib.util
import json
import pathlib
import sys
import time

import pytest

from oidc_federation.thumbprint import handler as lookup
from thumbprint_fixtures import (  # noqa: F401  (fixtures are used by name)
    HUB_ACCOUNT,
    HUB_ISSUER,
    LOOKUP_ROLE_ARN,
    LambdaContext,
    cfn,
    cfn_event,
    closed_port,
    hub,
    hub_properties,
    moto_endpoint,
    no_aws,
    oidc_servers,
    pki,
    silent_server,
    tls_properties,
    trust_test_roots,
)

HUB_ARN = f"arn:aws:iam::{HUB_ACCOUNT}:oidc-provider/oidc.op1.openshiftapps.com/abc123"


def invoke(cfn, event, seconds=60.0):
    """Run the handler as Lambda would; returns how long it took (cfn's clock starts now too)."""
    if cfn is not None:
        cfn.restart_clock()
    started = time.monotonic()
    assert lookup.handler(event, LambdaContext(seconds)) is None
    return time.monotonic() - started


def failed(cfn, seconds):
    """The single FAILED answer, which must have arrived before the Lambda deadline."""
    body = cfn.only()
    assert body["Status"] == "FAILED", body
    assert cfn.responses[0][0] < seconds
    assert "\n" not in body["Reason"] and len(body["Reason"]) <= lookup.MAX_REASON_CHARS
    return body


def succeeded(cfn):
    body = cfn.only()
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert set(body["Data"]) == {"Thumbprints", "ClientIds"}
    return body


# --- tls mode ---------------------------------------------------------------------------------------

def test_tls_thumbprint_is_the_last_presented_certificate_not_the_leaf(
        pki, trust_test_roots, oidc_servers, cfn):
    # CASES 1 and 2: the server presents leaf -> intermediate; the right value is the SHA-1 of the
    # last certificate presented (computed here with cryptography), never the leaf's or the first.
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    event = cfn_event("Create", tls_properties(issuer), cfn.url)
    invoke(cfn, event)

    body = succeeded(cfn)
    assert body["Data"] == {"Thumbprints": pki.chain_a.top_sha1, "ClientIds": "sts.amazonaws.com"}
    assert pki.chain_a.top_sha1 != pki.chain_a.leaf_sha1
    assert body["PhysicalResourceId"] == f"thumbprint-lookup:localhost:{server.port}/issuer1"
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        assert body[key] == event[key]
    assert body["NoEcho"] is False
    assert cfn.responses[0][1]["Content-Type"] == ""


def test_tls_server_that_also_presents_its_root_gives_the_root(pki, trust_test_roots, oidc_servers, cfn):
    # CASES 1 and 2, with leaf -> intermediate -> root presented: the last one presented is the root.
    chain = pki.chain_a_with_root
    issuer = oidc_servers(chain).serve_issuer()
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    thumbprint = succeeded(cfn)["Data"]["Thumbprints"]
    assert thumbprint == chain.top_sha1 == pki.chain_a_with_root.top_sha1
    assert thumbprint not in (chain.leaf_sha1, pki.chain_a.top_sha1)


def test_tls_uses_the_jwks_host_when_it_differs_from_the_discovery_host(
        pki, trust_test_roots, oidc_servers, cfn, capsys):
    # AWS: the thumbprint is of the host serving jwks_uri. Discovery is on localhost (CA A), the
    # keys on 127.0.0.1 (CA B), so the two chains differ.
    keys_server = oidc_servers(pki.chain_b, host="127.0.0.1")
    keys_server.serve_jwks("/keys")
    issuer = oidc_servers(pki.chain_a).serve_issuer(jwks_uri=keys_server.base_url + "/keys")
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    assert succeeded(cfn)["Data"]["Thumbprints"] == pki.chain_b.top_sha1 != pki.chain_a.top_sha1
    assert "differs from the discovery host" in capsys.readouterr().out


def test_tls_single_presented_certificate_is_used_and_said(pki, trust_test_roots, oidc_servers, cfn, capsys):
    issuer = oidc_servers(pki.chain_single).serve_issuer()
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    assert succeeded(cfn)["Data"]["Thumbprints"] == pki.chain_single.leaf_sha1
    assert "only one certificate presented" in capsys.readouterr().out


def test_tls_issuer_equal_after_normalising_is_accepted(pki, trust_test_roots, oidc_servers, cfn):
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    server.set_json("/issuer1/.well-known/openid-configuration", {
        "issuer": f"https://LOCALHOST:{server.port}/issuer1/", "jwks_uri": issuer + "/keys"})
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))
    assert succeeded(cfn)["Data"]["Thumbprints"] == pki.chain_a.top_sha1


def test_tls_untrusted_certificate_fails(pki, trust_test_roots, oidc_servers, cfn):
    server = oidc_servers(pki.chain_untrusted)
    issuer = server.serve_issuer()
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    reason = failed(cfn, 60)["Reason"]
    assert reason.startswith(f"discovery document {issuer}/.well-known/openid-configuration unreachable: "
                             f"TLS to localhost:{server.port} failed: certificate verify failed")


def test_dns_failure(trust_test_roots, cfn):
    invoke(cfn, cfn_event("Create", tls_properties("https://oidc.thumbprint-test.invalid/abc"), cfn.url))
    assert "DNS lookup of oidc.thumbprint-test.invalid failed" in failed(cfn, 60)["Reason"]


def test_server_that_accepts_and_never_answers_gets_failed_before_the_deadline(silent_server, cfn):
    # CASES 9: the network timeouts are shares of the remaining time, so a hung server cannot hold
    # the function until Lambda kills it and CloudFormation waits an hour.
    elapsed = invoke(cfn, cfn_event("Create", tls_properties(f"https://127.0.0.1:{silent_server.port}"),
                               cfn.url), seconds=8)

    reason = failed(cfn, 8)["Reason"]
    assert f"127.0.0.1:{silent_server.port} did not answer within" in reason
    assert "connecting (TCP and TLS handshake)" in reason
    assert elapsed < 8


def test_watchdog_answers_when_a_server_drips_slower_than_the_deadline(pki, trust_test_roots, oidc_servers, cfn):
    # CASES 9: a server sending one byte every 0.2 s never trips a per-read socket timeout; only the
    # watchdog answers in time. The work finishes later and must not send a second answer.
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()

    def drip(request):
        body = b'{"issuer":"x"}'
        request.send_response(200)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        for i in range(len(body)):
            request.wfile.write(body[i:i + 1])
            time.sleep(0.2)

    server.routes["/issuer1/.well-known/openid-configuration"] = drip
    elapsed = invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url), seconds=3)

    reason = failed(cfn, 2.5)["Reason"]
    assert elapsed > 2.5  # the work went on after the watchdog's answer
    assert reason.startswith("timed out after 2s while fetching discovery document")
    time.sleep(0.2)
    assert len(cfn.responses) == 1


@pytest.mark.parametrize("document, expected", [
    (b"<html>not json</html>", "is not JSON"),
    (b"[1, 2]", "is not a JSON object"),
    (b'{"issuer": "ISSUER"}', "has jwks_uri None; an https URL is needed"),
    (b'{"issuer": "ISSUER", "jwks_uri": "http://localhost/keys"}', "has jwks_uri 'http://localhost/keys'"),
    (b'{"jwks_uri": "https://localhost/keys"}', "has issuer None, expected ISSUER"),
])
def test_malformed_discovery_document(pki, trust_test_roots, oidc_servers, cfn, document, expected):
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    server.routes["/issuer1/.well-known/openid-configuration"] = (
        200, document.replace(b"ISSUER", issuer.encode()))
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    reason = failed(cfn, 60)["Reason"]
    assert reason.startswith(f"discovery document at {issuer}/.well-known/openid-configuration ")
    assert expected.replace("ISSUER", issuer) in reason


def test_discovery_document_of_another_issuer(pki, trust_test_roots, oidc_servers, cfn):
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    server.set_json("/issuer1/.well-known/openid-configuration",
                    {"issuer": "https://elsewhere.example/issuer1", "jwks_uri": issuer + "/keys"})
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    assert failed(cfn, 60)["Reason"].startswith(
        f"discovery document at {issuer}/.well-known/openid-configuration has issuer "
        f"'https://elsewhere.example/issuer1', expected {issuer}; ")


def test_discovery_document_missing(pki, trust_test_roots, oidc_servers, cfn):
    issuer = oidc_servers(pki.chain_a).base_url + "/nothing-here"
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))
    assert failed(cfn, 60)["Reason"] == (
        f"discovery document {issuer}/.well-known/openid-configuration unreachable: HTTP 404 Not Found"
        " (log stream 2026/12/03/[$LATEST]0123456789abcdef)")


@pytest.mark.parametrize("where", ["missing path", "closed port"])
def test_jwks_unreachable(pki, trust_test_roots, oidc_servers, cfn, where):
    server = oidc_servers(pki.chain_a)
    jwks_uri = (server.base_url + "/no-keys-here" if where == "missing path"
                else f"https://127.0.0.1:{closed_port()}/keys")
    issuer = server.serve_issuer(jwks_uri=jwks_uri)
    server.routes.pop("/no-keys-here", None)
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))

    reason = failed(cfn, 60)["Reason"]
    assert reason.startswith(f"JWKS {jwks_uri} unreachable: ")
    assert ("HTTP 404" if where == "missing path" else "refused") in reason


def test_jwks_without_keys(pki, trust_test_roots, oidc_servers, cfn):
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    server.set_json("/issuer1/keys", {"not": "a key set"})
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))
    assert f'JWKS at {issuer}/keys has no "keys" list' in failed(cfn, 60)["Reason"]


# --- hub mode ---------------------------------------------------------------------------------------

def test_hub_copies_thumbprints_and_client_ids(hub, cfn):
    # CASES 3: IAM may return upper case; the answer is normalised to lowercase 40-hex.
    hub.create_provider(client_ids=["sts.amazonaws.com", "openshift"],
                        thumbprints=["9E99A48A9960B14926BB7F3B02E22DA2B0AB7280", "a" * 40])
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))

    body = succeeded(cfn)
    assert body["Data"] == {"Thumbprints": f"9e99a48a9960b14926bb7f3b02e22da2b0ab7280,{'a' * 40}",
                            "ClientIds": "sts.amazonaws.com,openshift"}
    assert body["PhysicalResourceId"] == "thumbprint-lookup:oidc.op1.openshiftapps.com/abc123"


def test_hub_provider_lacking_a_required_audience_is_refused(hub, cfn):
    # CASES 8 when the spoke mirrors the hub's client IDs: a role audience they lack would fail
    # later with 'Incorrect token audience'; the lookup says so at deploy time instead.
    hub.create_provider(client_ids=["openshift"])
    invoke(cfn, cfn_event("Create", dict(hub_properties(), RequiredClientIds="sts.amazonaws.com"), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(
        f"the hub provider for {HUB_ISSUER} lists client IDs openshift, without sts.amazonaws.com that the "
        "spoke roles use as audience; add them to the hub provider or set spoke.provider.mirror_hub_client_ids: false")


def test_hub_provider_listing_every_required_audience_succeeds(hub, cfn):
    hub.create_provider(client_ids=["sts.amazonaws.com", "openshift"])
    invoke(cfn, cfn_event("Create", dict(hub_properties(), RequiredClientIds="openshift,sts.amazonaws.com"), cfn.url))
    assert succeeded(cfn)["Data"]["ClientIds"] == "sts.amazonaws.com,openshift"


def test_hub_provider_missing(hub, cfn):
    hub.create_provider(url="https://oidc.example.com/other")
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(
        f"provider for {HUB_ISSUER} not found in hub account {HUB_ACCOUNT} (checked {HUB_ARN} and 1 "
        "listed provider(s)); create it there or fix hub.issuer_url / hub.account_id")


def test_hub_provider_missing_names_a_near_match(hub, cfn):
    hub.create_provider(url="https://oidc.op1.openshiftapps.com/abc124")
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert "near matches there: https://oidc.op1.openshiftapps.com/abc124" in failed(cfn, 60)["Reason"]


def test_hub_provider_created_with_a_trailing_slash_is_found_by_url(hub, cfn, capsys):
    # CASES 4: a provider registered as https://HOST/path/ is not at the canonical ARN.
    hub.create_provider(url="https://OIDC.op1.openshiftapps.com/abc123/", thumbprints=["b" * 40])
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert succeeded(cfn)["Data"]["Thumbprints"] == "b" * 40
    assert f"not at the canonical ARN {HUB_ARN}" in capsys.readouterr().out


def test_hub_provider_without_thumbprints_is_refused(hub, cfn):
    # CASES 3: an empty thumbprint list must never reach the template.
    hub.create_provider(thumbprints=[])
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(f"hub provider {HUB_ARN} has no thumbprints; ")


def test_hub_provider_without_client_ids_is_refused(hub, cfn):
    hub.create_provider(client_ids=[])
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(f"hub provider {HUB_ARN} has no client IDs")


def test_hub_role_that_cannot_be_assumed(hub, cfn):
    hub.create_provider()
    with hub.caller_without_permissions():
        invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(
        f"could not assume {LOOKUP_ROLE_ARN}: AccessDenied: User: arn:aws:iam::123456789012:user/"
        "spoke-without-permissions is not authorized to perform: sts:AssumeRole; deploy HubStack in "
        "the hub account and list this spoke account in it")


def test_hub_sts_that_never_answers_gets_failed_before_the_deadline(hub, silent_server, cfn, monkeypatch):
    # CASES 9 for the AWS calls: botocore's timeouts and retries are bounded by the remaining time.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent_server.port}")
    elapsed = invoke(cfn, cfn_event("Create", hub_properties(), cfn.url), seconds=8)
    assert LOOKUP_ROLE_ARN in failed(cfn, 8)["Reason"]
    assert elapsed < 8


def test_log_has_no_response_signature_or_credentials(hub, cfn, capsys):
    hub.create_provider()
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    succeeded(cfn)
    out = capsys.readouterr().out
    assert "SIGNATURE-NOT-TO-LOG" not in out and "/cfn-response/abc?<redacted>" in out
    assert "SecretAccessKey" not in out and "SessionToken" not in out


# --- the custom resource lifecycle ----------------------------------------------------------------

@pytest.mark.parametrize("request_type, properties, expected", [
    ("Create", {"Mode": "spoke", "IssuerUrl": HUB_ISSUER}, "invalid event: Mode 'spoke' is not 'hub' or 'tls'"),
    ("Create", {"Mode": "tls", "IssuerUrl": "http://oidc.example.com"},
     "invalid event: IssuerUrl 'http://oidc.example.com' must be an https:// URL with a host"),
    ("Update", hub_properties(Partition="aws-cn"),
     f"invalid event: HubLookupRoleArn {LOOKUP_ROLE_ARN} is in partition aws but Partition is 'aws-cn'"),
    ("Create", hub_properties(Partition="amazon"),
     f"invalid event: HubLookupRoleArn {LOOKUP_ROLE_ARN} is in partition aws but Partition is 'amazon'"),
    ("Create", hub_properties(HubAccountId="12345", HubLookupRoleArn="role/x"),
     "invalid event: HubAccountId '12345' is not 12 digits; HubLookupRoleArn 'role/x' is not an IAM role ARN"),
    ("Create", hub_properties(HubAccountId="222222222222"),
     f"invalid event: HubLookupRoleArn {LOOKUP_ROLE_ARN} is in account 111111111111 but HubAccountId is 222222222222"),
    ("Upsert", {"Mode": "tls", "IssuerUrl": HUB_ISSUER},
     "invalid event: RequestType 'Upsert' is not Create, Update or Delete"),
])
def test_malformed_event_is_answered_failed(no_aws, cfn, request_type, properties, expected):
    invoke(cfn, cfn_event(request_type, properties, cfn.url, physical_id="thumbprint-lookup:x"))
    assert failed(cfn, 60)["Reason"].startswith(expected)


def test_malformed_event_without_properties(no_aws, cfn):
    event = cfn_event("Create", {}, cfn.url)
    del event["ResourceProperties"]
    invoke(cfn, event)
    body = failed(cfn, 60)
    assert body["Reason"].startswith("invalid event: ResourceProperties is missing")
    assert body["PhysicalResourceId"] == "thumbprint-lookup:HubThumbprint"


def test_event_without_response_url_is_logged_and_dropped(cfn, capsys):
    event = cfn_event("Create", tls_properties(HUB_ISSUER), cfn.url)
    del event["ResponseURL"]
    assert invoke(cfn, event) < 1
    assert cfn.attempts == 0
    assert "no ResponseURL" in capsys.readouterr().out


def test_unexpected_exception_is_answered_failed(cfn, monkeypatch, capsys):
    # The only stand-in in this module: a bug in the work must still produce one FAILED answer.
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(lookup, "lookup_tls", broken)
    invoke(cfn, cfn_event("Create", tls_properties(HUB_ISSUER), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith("unexpected RuntimeError while starting: boom")
    assert "Traceback" in capsys.readouterr().out


def test_delete_answers_without_any_other_network_call(no_aws, cfn):
    # CASES 10: Delete has nothing to do; the issuer and AWS endpoints here would all be refused.
    event = cfn_event("Delete", tls_properties(f"https://127.0.0.1:{closed_port()}/x"), cfn.url,
                      physical_id="thumbprint-lookup:127.0.0.1/x")
    assert invoke(cfn, event) < 1
    body = cfn.only()
    assert (body["Status"], body["PhysicalResourceId"], body["Data"]) == (
        "SUCCESS", "thumbprint-lookup:127.0.0.1/x", {})


def test_delete_after_a_failed_create_succeeds(no_aws, cfn):
    # CASES 10: CloudFormation deletes what a failed Create answered; that must not fail again.
    properties = {"Mode": "bogus", "IssuerUrl": HUB_ISSUER}
    invoke(cfn, cfn_event("Create", properties, cfn.url))
    physical = failed(cfn, 60)["PhysicalResourceId"]
    assert physical == "thumbprint-lookup:oidc.op1.openshiftapps.com/abc123"

    cfn.responses.clear()
    invoke(cfn, cfn_event("Delete", properties, cfn.url, physical_id=physical))
    body = cfn.only()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", physical)


def test_update_keeps_the_physical_id_and_returns_the_new_thumbprint(pki, trust_test_roots, oidc_servers, cfn):
    # CASES 10: same physical id on every call, so CloudFormation never deletes the "old" resource;
    # a rotated intermediate gives new Data and the spoke provider updates in place.
    server = oidc_servers(pki.chain_a)
    issuer = server.serve_issuer()
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))
    invoke(cfn, cfn_event("Create", tls_properties(issuer), cfn.url))
    first, again = (r[2] for r in cfn.responses)
    assert first["PhysicalResourceId"] == again["PhysicalResourceId"]

    server.use_chain(pki.chain_a2)
    for physical in (first["PhysicalResourceId"], "an-id-from-an-earlier-version"):
        cfn.responses.clear()
        invoke(cfn, cfn_event("Update", tls_properties(issuer), cfn.url, physical_id=physical,
                         old_properties=tls_properties(issuer)))
        body = succeeded(cfn)
        assert body["PhysicalResourceId"] == physical
        assert body["Data"]["Thumbprints"] == pki.chain_a2.top_sha1 != pki.chain_a.top_sha1


@pytest.mark.parametrize("refusals", [["reset"], ["503"], ["reset", "503"]])
def test_response_put_is_retried(no_aws, cfn, refusals):
    cfn.refuse = list(refusals)
    invoke(cfn, cfn_event("Delete", tls_properties(HUB_ISSUER), cfn.url, physical_id="p"))
    assert cfn.only()["Status"] == "SUCCESS"
    assert cfn.attempts == len(refusals) + 1


def test_unreachable_response_url_does_not_raise(no_aws, capsys):
    url = f"http://127.0.0.1:{closed_port()}/cfn-response?X-Amz-Signature=x"
    assert invoke(None, cfn_event("Delete", tls_properties(HUB_ISSUER), url, physical_id="p"), seconds=10) < 5
    assert "could not be delivered" in capsys.readouterr().out


def test_long_reason_is_cut_to_one_line_within_the_response_limit(no_aws, cfn):
    # CloudFormation refuses response bodies over 4096 bytes; the issuer also makes the physical id.
    invoke(cfn, cfn_event("Create", {"Mode": "tls\nhub" * 500, "IssuerUrl": "https://x/" + "p" * 5000}, cfn.url))
    body = failed(cfn, 60)
    assert body["Reason"].startswith("invalid event: Mode 'tls\\nhub")
    assert "..." in body["Reason"]
    assert body["Reason"].endswith("(log stream 2026/12/03/[$LATEST]0123456789abcdef)")
    assert len(json.dumps(body)) < 4096


def test_the_file_alone_works_as_the_inlined_index_module(pki, trust_test_roots, oidc_servers, cfn, tmp_path):
    # In the template the file is index.py with nothing of this project beside it.
    index = tmp_path / "index.py"
    index.write_text(pathlib.Path(lookup.__file__).read_text())
    spec = importlib.util.spec_from_file_location("index", index)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    issuer = oidc_servers(pki.chain_a).serve_issuer()
    module.handler(cfn_event("Create", tls_properties(issuer), cfn.url), LambdaContext(60))
    assert succeeded(cfn)["Data"]["Thumbprints"] == pki.chain_a.top_sha1


# --- pure functions ---------------------------------------------------------------------------------

def test_thumbprints_are_normalised_or_refused():
    # CASES 3: colons and case are normalised; SHA-256, empty and six thumbprints are refused.
    colons = ":".join(["9E"] * 20)
    assert lookup.normalise_thumbprints([colons, "9e" * 20, "A" * 40], "p") == ["9e" * 20, "a" * 40]
    with pytest.raises(lookup.ThumbprintLookupError, match="SHA-256 fingerprint; IAM wants SHA-1"):
        lookup.normalise_thumbprints(["ab" * 32], "p")
    with pytest.raises(lookup.ThumbprintLookupError, match="^p has no thumbprints"):
        lookup.normalise_thumbprints([], "p")
    with pytest.raises(lookup.ThumbprintLookupError, match="^p has 6 thumbprints, more than IAM's 5"):
        lookup.normalise_thumbprints([f"{i:040x}" for i in range(6)], "p")


@pytest.mark.parametrize("url, canonical", [
    ("https://Oidc.Example.com/abc/", "https://oidc.example.com/abc"),
    ("oidc.example.com/abc", "https://oidc.example.com/abc"),
    ("https://oidc.example.com:443", "https://oidc.example.com"),
    ("https://oidc.example.com:8443/a/B", "https://oidc.example.com:8443/a/B"),
])
def test_urls_are_normalised(url, canonical):
    assert lookup.normalise_url(url) == canonical


@pytest.mark.parametrize("partition", ["aws", "aws-cn", "aws-us-gov"])
def test_provider_arn(partition):
    assert lookup.provider_arn(partition, HUB_ACCOUNT, "https://oidc.example.com/abc/") == (
        f"arn:{partition}:iam::{HUB_ACCOUNT}:oidc-provider/oidc.example.com/abc")


def test_handler_module_can_be_inlined():
    # It becomes index.py in the template's ZipFile: standard library at the top, boto3/botocore
    # only inside the AWS calls, no work at import (imports, constants, functions and classes only),
    # and small enough that the spoke template fits a StackSet's 51,200-byte TemplateBody
    # (tests/test_spoke_stackset.py checks the template itself).
    source = pathlib.Path(lookup.__file__).read_text()
    assert len(source) < 36_000
    tree = ast.parse(source)

    def imported(node):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        return {name.split(".")[0] for name in names}

    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            assert imported(node) <= sys.stdlib_module_names, ast.dump(node)
        elif isinstance(node, ast.Assign):
            assert isinstance(node.value, (ast.Constant, ast.BinOp, ast.Call)), ast.dump(node)
            if isinstance(node.value, ast.Call):
                assert ast.unparse(node.value.func) in ("re.compile", "collections.namedtuple")
        else:
            assert isinstance(node, (ast.Expr, ast.FunctionDef, ast.ClassDef)), ast.dump(node)
    everywhere = set().union(*(imported(n) for n in ast.walk(tree)
                               if isinstance(n, (ast.Import, ast.ImportFrom))))
    assert everywhere - sys.stdlib_module_names == {"boto3", "botocore"}


def test_hub_without_any_credentials_says_so(cfn, no_aws, monkeypatch):
    # A misleading "deploy HubStack" hint is wrong when there are simply no credentials.
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    invoke(cfn, cfn_event("Create", hub_properties(), cfn.url))
    assert failed(cfn, 60)["Reason"].startswith(
        f"could not assume {LOOKUP_ROLE_ARN}: no AWS credentials were found; set them (profile, SSO or "
        "environment) for an account HubStack trusts")
