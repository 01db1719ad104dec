"""Names both sides of the federation must agree on without exchanging values."""

from __future__ import annotations

import hashlib

from .validation import issuer_host_path

LOOKUP_CALLER_PREFIX = "oidc-thumbprint-lookup-"


def lookup_caller_role_name(issuer_url: str) -> str:
    """The spoke lookup function's role name: ``oidc-thumbprint-lookup-<12 hex>``.

    The hex is the start of SHA-256 over the issuer's ``host/path``, so the hub's lookup role can
    trust exactly this name in every spoke account, and two federations (two hubs) in one spoke
    account do not collide.
    """
    digest = hashlib.sha256(issuer_host_path(issuer_url).encode()).hexdigest()[:12]
    return LOOKUP_CALLER_PREFIX + digest


def hub_provider_arn(partition: str, hub_account_id: str, issuer_url: str) -> str:
    return f"arn:{partition}:iam::{hub_account_id}:oidc-provider/{issuer_host_path(issuer_url)}"


def pascal_case(name: str) -> str:
    """An id fragment from a name: its alphanumeric runs, each capitalised (``spoke-account-role`` ->
    ``SpokeAccountRole``). Names that differ only in punctuation map to the same fragment."""
    return "".join(part[:1].upper() + part[1:] for part in "".join(c if c.isalnum() else " " for c in name).split())

