"""provider.mode: adopt: the handler's provider resource against moto's IAM (the spoke account).

CASES.md 5: an account that already has a provider for the issuer (the hub itself, accounts set
up by hand) adopts it; nothing this stack did not create is ever changed or deleted.
"""

from __future__ import annotations

import boto3
import pytest

from oidc_federation.thumbprint import handler as lookup
from thumbprint_fixtures import (  # noqa: F401  (fixtures are used by name)
    HUB_ISSUER,
    SPOKE_ACCOUNT,
    LambdaContext,
    cfn,
    cfn_event,
    hub,
    moto_endpoint,
)

ARN = f"arn:aws:iam::{SPOKE_ACCOUNT}:oidc-provider/oidc.op1.openshiftapps.com/abc123"
TP = "a053375bfe84e8b748782c7cee15827a6af5a405"


def props(**overrides):
    return {"Kind": "provider", "IssuerUrl": HUB_ISSUER, "ClientIds": ["sts.amazonaws.com"],
            "Thumbprints": [TP], "RequiredClientIds": ["sts.amazonaws.com"], **overrides}


def run(cfn, event):
    cfn.restart_clock()
    assert lookup.handler(event, LambdaContext(60)) is None
    body = cfn.only()
    cfn.responses.clear()
    return body


def providers():
    return [p["Arn"] for p in boto3.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]]


def test_creates_where_none_exists_and_deletes_only_that(hub, cfn):
    body = run(cfn, cfn_event("Create", props(), cfn.url))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == f"created:{ARN}"
    assert body["Data"] == {"Arn": ARN, "Adopted": "false"}
    made = boto3.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    assert made["ClientIDList"] == ["sts.amazonaws.com"] and made["ThumbprintList"] == [TP]

    body = run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=f"created:{ARN}"))
    assert body["Status"] == "SUCCESS" and providers() == []
    # Deleting again (a retried delete) is still a success.
    assert run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=f"created:{ARN}"))["Status"] == "SUCCESS"


def test_adopts_an_existing_provider_and_never_deletes_it(hub, cfn):
    # CASES.md 5: the account already has the provider (made by hand, with other settings).
    iam = boto3.client("iam")
    iam.create_open_id_connect_provider(Url=HUB_ISSUER, ClientIDList=["sts.amazonaws.com", "openshift"],
                                        ThumbprintList=["b" * 40])
    body = run(cfn, cfn_event("Create", props(), cfn.url))
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == f"adopted:{ARN}"
    assert body["Data"] == {"Arn": ARN, "Adopted": "true"}

    # An update with new thumbprints leaves the adopted provider as it was.
    body = run(cfn, cfn_event("Update", props(Thumbprints=["c" * 40]), cfn.url, physical_id=f"adopted:{ARN}"))
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == f"adopted:{ARN}"
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)["ThumbprintList"] == ["b" * 40]

    body = run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=f"adopted:{ARN}"))
    assert body["Status"] == "SUCCESS"
    assert providers() == [ARN]


def test_adopted_provider_without_the_roles_audience_fails_clearly(hub, cfn):
    boto3.client("iam").create_open_id_connect_provider(Url=HUB_ISSUER, ClientIDList=["openshift"], ThumbprintList=["b" * 40])
    body = run(cfn, cfn_event("Create", props(), cfn.url))
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        f"the existing provider {ARN} lists client IDs openshift, without sts.amazonaws.com that the roles use "
        "as audience; add them to that provider (this stack never changes a provider it did not create)")


def test_update_of_a_created_provider_changes_it_in_place(hub, cfn):
    run(cfn, cfn_event("Create", props(), cfn.url))
    body = run(cfn, cfn_event("Update", props(Thumbprints=["C" * 40, TP]), cfn.url, physical_id=f"created:{ARN}"))
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == f"created:{ARN}"
    got = boto3.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    assert sorted(got["ThumbprintList"]) == sorted(["c" * 40, TP])


def test_delete_after_a_failed_create_touches_nothing(hub, cfn):
    # CASES.md 10: the physical id of a failed Create is not created:..., so nothing is deleted.
    boto3.client("iam").create_open_id_connect_provider(Url=HUB_ISSUER, ClientIDList=["x"], ThumbprintList=["b" * 40])
    failed_id = lookup.physical_id(cfn_event("Create", props(), cfn.url))
    body = run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=failed_id))
    assert body["Status"] == "SUCCESS" and providers() == [ARN]


def test_provider_without_thumbprints_is_created_without_them(hub, cfn):
    body = run(cfn, cfn_event("Create", props(Thumbprints=[]), cfn.url))
    assert body["Status"] == "SUCCESS", body["Reason"]


@pytest.mark.parametrize("bad, reason", [
    (dict(ClientIds=[]), "invalid event: ClientIds is empty"),
    (dict(Thumbprints=["9" * 64]), "Thumbprints has thumbprint '" + "9" * 64 + "', not a SHA-1 of 40 hex digits"),
    (dict(IssuerUrl="http://x.example.com"), "IssuerUrl 'http://x.example.com' must be an https:// URL with a host"),
])
def test_bad_properties_fail_without_creating(hub, cfn, bad, reason):
    body = run(cfn, cfn_event("Create", props(**bad), cfn.url))
    assert body["Status"] == "FAILED" and body["Reason"].startswith(reason)
    assert providers() == []


def owner_tags():
    return boto3.client("iam").list_open_id_connect_provider_tags(OpenIDConnectProviderArn=ARN)["Tags"]


def test_created_provider_carries_the_stacks_owner_tag(hub, cfn):
    event = cfn_event("Create", props(), cfn.url)
    run(cfn, event)
    assert owner_tags() == [{"Key": lookup.OWNER_TAG, "Value": event["StackId"]}]


def test_a_provider_replaced_out_of_band_is_neither_changed_nor_deleted(hub, cfn):
    # CASES.md 5 (review finding): ours was deleted and another team made one for the same URL;
    # a later Update must not rewrite it and the stack's Delete must not remove it.
    run(cfn, cfn_event("Create", props(), cfn.url))
    iam = boto3.client("iam")
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    iam.create_open_id_connect_provider(Url=HUB_ISSUER, ClientIDList=["sts.amazonaws.com", "openshift"],
                                        ThumbprintList=["b" * 40])
    body = run(cfn, cfn_event("Update", props(Thumbprints=["c" * 40]), cfn.url, physical_id=f"created:{ARN}"))
    assert body["Status"] == "SUCCESS" and body["PhysicalResourceId"] == f"adopted:{ARN}"
    theirs = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=ARN)
    assert theirs["ThumbprintList"] == ["b" * 40] and theirs["ClientIDList"] == ["sts.amazonaws.com", "openshift"]
    # CloudFormation deletes the old physical id after the update: theirs stays.
    body = run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=f"created:{ARN}"))
    assert body["Status"] == "SUCCESS" and "no longer carries this stack's" in body["Reason"]
    assert providers() == [ARN]


def test_rollback_to_an_earlier_issuer_keeps_ownership(hub, cfn):
    # Review finding: Create for A, Update to B, rollback Update back to A with physical id
    # created:B must answer created:A (still ours), so the stack's Delete later removes it.
    other = "https://oidc.example.com/b"
    other_arn = f"arn:aws:iam::{SPOKE_ACCOUNT}:oidc-provider/oidc.example.com/b"
    run(cfn, cfn_event("Create", props(), cfn.url))
    run(cfn, cfn_event("Update", props(IssuerUrl=other), cfn.url, physical_id=f"created:{ARN}"))
    body = run(cfn, cfn_event("Update", props(), cfn.url, physical_id=f"created:{other_arn}"))
    assert body["PhysicalResourceId"] == f"created:{ARN}" and body["Data"]["Adopted"] == "false"
    run(cfn, cfn_event("Delete", props(IssuerUrl=other), cfn.url, physical_id=f"created:{other_arn}"))
    run(cfn, cfn_event("Delete", props(), cfn.url, physical_id=f"created:{ARN}"))
    assert providers() == []


def test_a_retried_create_recognises_its_own_provider(hub, cfn):
    # The first attempt created the provider but its answer was lost; the retry sees it, tagged as ours.
    event = cfn_event("Create", props(), cfn.url)
    run(cfn, event)
    body = run(cfn, dict(event, RequestId="retry"))
    assert body["PhysicalResourceId"] == f"created:{ARN}" and body["Data"]["Adopted"] == "false"
