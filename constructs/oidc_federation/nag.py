"""cdk-nag 3.x in every synth: an unacknowledged finding fails it.

Acknowledgements are made with ``acknowledge()`` on the construct that owns the finding, and are
also recorded as construct metadata so a test can prove that each one still matches a finding
(CASES.md 13: an acknowledgement that matches nothing hides nothing and must not linger).
"""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

ACK_METADATA = "spoke-federation:nag-acknowledgement"
# With this context key set, acknowledgements are recorded but not applied, so every finding they
# cover shows in the validation report (used by the tests, never by deployments).
RECORD_ONLY_CONTEXT = "spoke-federation:nag-record-only"


def add_nag_checks(app: cdk.App) -> None:
    """Run the AWS Solutions rules over every stack of ``app`` when it synthesizes."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (e.g. ``AwsSolutions-IAM5[Resource::*]``) on ``scope`` and below."""
    if len(reason.strip()) < 20:
        raise ValueError(f"acknowledgement of {rule_id} on {scope.node.path} needs a real reason, got {reason!r}")
    scope.node.add_metadata(ACK_METADATA, {"id": rule_id, "reason": reason})
    if not scope.node.try_get_context(RECORD_ONLY_CONTEXT):
        cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def recorded_acknowledgements(root: IConstruct) -> list[tuple[str, str, str]]:
    """(construct path, rule id, reason) of every acknowledgement made below ``root``."""
    found = []
    for node in root.node.find_all():
        for entry in node.node.metadata:
            if entry.type == ACK_METADATA:
                found.append((node.node.path, entry.data["id"], entry.data["reason"]))
    return found


def report_findings(outdir: str | Path) -> list[tuple[str, str]]:
    """(rule id, construct path) of every violation in a cloud assembly's validation report."""
    path = Path(outdir) / "validation-report.json"
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    return [(v["ruleName"], c["constructPath"]) for plugin in report.get("pluginReports", [])
            for v in plugin.get("violations", []) for c in v.get("violatingConstructs", [])]


def unmatched(acks: list[tuple[str, str, str]], findings: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """The acknowledgements that cover no finding (same rule id, finding at or below the scope)."""
    return [(path, rule, reason) for path, rule, reason in acks
            if not any((f_rule == rule or f_rule.startswith(rule + "["))
                       and (f_path == path or f_path.startswith(path + "/"))
                       for f_rule, f_path in findings)]
