#!/usr/bin/env python3
"""The CDK app: reads the federation config (-c config=FILE) and wires the stacks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import aws_cdk as cdk

from oidc_federation.config import ConfigError, load_config
from oidc_federation.nag import add_nag_checks
from stacks.hub_stack import HubStack
from stacks.spoke_stack import SpokeStack
from stacks.spoke_stackset import TEMPLATE_BODY_LIMIT, SpokeStackSet

DEFAULT_CONFIG = "config/example.yaml"


def build_app(app: cdk.App | None = None) -> cdk.App:
    """Create the stacks for the config named in the app's context; raises ConfigError."""
    app = app or cdk.App(analytics_reporting=False)
    path = app.node.try_get_context("config") or DEFAULT_CONFIG
    config = load_config(path)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    SpokeStack(app, "SpokeStack", config=config)
    if config.thumbprint.source == "hub":
        HubStack(app, "HubStack", config=config)
    if config.stackset is not None:
        SpokeStackSet(app, "SpokeStackSet", config=config)
    add_nag_checks(app)
    return app


def main() -> int:
    try:
        app = build_app()
    except ConfigError as exc:
        # Before any stack exists: no template is written, nothing is deployed.
        for line in exc.errors:
            print(f"error: {line}", file=sys.stderr)
        return 1
    except ValueError as exc:
        # A construct refused its props (e.g. a StackSet template over the size limit).
        print(f"error: {exc}", file=sys.stderr)
        return 1
    assembly = app.synth()
    write_stackset_templates(app, assembly.directory)
    too_large = oversized_templates(assembly)
    for line in too_large:
        print(f"error: {line}", file=sys.stderr)
    return 1 if too_large else 0


def oversized_templates(assembly) -> list[str]:
    """Stacks whose template the CLI could not deploy without a bootstrap bucket (over 51,200 bytes)."""
    problems = []
    for stack in assembly.stacks:
        size = len(json.dumps(stack.template, separators=(",", ":")).encode())
        if size > TEMPLATE_BODY_LIMIT:
            problems.append(
                f"{stack.stack_name}: the template is {size:,} bytes, over the {TEMPLATE_BODY_LIMIT:,} bytes CloudFormation "
                "takes inline, and these stacks need no bootstrap bucket to upload it to; target fewer accounts or OUs "
                "(a parent OU or the root covers many), or create the StackSet from the plain template with the AWS CLI (README)")
    return problems


def write_stackset_templates(app: cdk.App, directory: str) -> None:
    """Each StackSet's template as a plain file in the cloud assembly, for the AWS CLI recipe."""
    for stack in app.node.children:
        if isinstance(stack, SpokeStackSet):
            (Path(directory) / f"{stack.stack_name}.stackset-template.json").write_text(stack.body)


if __name__ == "__main__":
    sys.exit(main())
