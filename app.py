#!/usr/bin/env python3
"""The CDK app: reads the federation config (-c config=FILE) and wires the stacks."""

from __future__ import annotations

import sys

import aws_cdk as cdk

from oidc_federation.config import ConfigError, load_config
from oidc_federation.nag import add_nag_checks
from stacks.hub_stack import HubStack
from stacks.spoke_stack import SpokeStack

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
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
