#!/usr/bin/env python3
"""The CDK app: reads the federation config (-c config=FILE) and wires the stacks."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import aws_cdk as cdk
import yaml

from oidc_federation.config import ConfigError, FederationConfig, load_config
from oidc_federation.nag import RECORD_ONLY_CONTEXT, add_nag_checks, recorded_acknowledgements, report_findings, unmatched
from stacks.hub_stack import HubStack
from stacks.spoke_stack import SpokeStack
from stacks.spoke_stackset import TEMPLATE_BODY_LIMIT, SpokeStackSet

DEFAULT_CONFIG = "config/example.yaml"
# The CDK CLI sends a template as YAML and needs a bootstrap bucket above 50 KiB of it (51,200
# characters). template_size() renders YAML the way the CLI does (the `yaml` package, no line folding:
# block literals for multi-line strings, double quotes for strings with quotes, indented lists);
# it matched the CLI's own output (`cdk synth` prints it) within 3 bytes on SpokeStack and on
# SpokeStackSet with 1 and 300 OUs. A 0.5% margin covers the rest.
CLI_INLINE_LIMIT = int(TEMPLATE_BODY_LIMIT * 0.995)


class _CliLikeDumper(yaml.SafeDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)  # lists indented under their key, as the CLI writes


def _cli_like_string(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else '"' if any(c in value for c in "\"'\\") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_CliLikeDumper.add_representer(str, _cli_like_string)


def template_size(template: dict) -> int:
    """The length of the YAML the CDK CLI sends for ``template`` (see CLI_INLINE_LIMIT)."""
    return len(yaml.dump(template, Dumper=_CliLikeDumper, sort_keys=False, width=1 << 30, allow_unicode=True))


def config_path(app: cdk.App) -> str:
    """The config file named with -c config=FILE, relative to where the user ran scripts/cdk."""
    given = app.node.try_get_context("config")
    if given is None:
        return DEFAULT_CONFIG
    if not str(given).strip():
        raise ConfigError(["-c config= is empty; name a federation YAML file, e.g. -c config=config/example.yaml"])
    caller = os.environ.get("SPOKE_CALLER_CWD")
    if caller and not os.path.isabs(given) and (Path(caller) / given).exists():
        return str(Path(caller) / given)
    return str(given)


def define_stacks(app: cdk.App, config: FederationConfig) -> None:
    SpokeStack(app, "SpokeStack", config=config)
    if config.thumbprint.source == "hub":
        HubStack(app, "HubStack", config=config)
    if config.stackset is not None:
        SpokeStackSet(app, "SpokeStackSet", config=config)
    add_nag_checks(app)


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, FederationConfig]:
    """Create the stacks for the config named in the app's context; raises ConfigError."""
    app = app or cdk.App(analytics_reporting=False)
    config = load_config(config_path(app))
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    define_stacks(app, config)
    return app, config


def main() -> int:
    app = cdk.App(analytics_reporting=False)
    # A template file from an earlier synth must not outlive a failed one (the AWS CLI recipe reads it).
    for stale in Path(app.outdir).glob("*.stackset-template.json"):
        stale.unlink()
    try:
        app, config = build_app(app)
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
    problems = oversized_templates(assembly) + stale_acknowledgements(config)
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


def oversized_templates(assembly) -> list[str]:
    """Stacks whose template the CLI could not deploy without a bootstrap bucket."""
    problems = []
    for stack in assembly.stacks:
        if stack.assume_role_arn:  # a bootstrapped stack: the CLI uploads a large template to its bucket
            continue
        size = template_size(stack.template)
        if size <= CLI_INLINE_LIMIT:
            continue
        fix = ("target fewer accounts or OUs (a parent OU or the root covers many), or create the StackSet from the "
               "plain template with the AWS CLI (README)") if stack.stack_name == "SpokeStackSet" else \
            ("use fewer roles, managed policies instead of long inline policies, or set spoke.bootstrapped: true "
             "for an account that has `cdk bootstrap`")
        problems.append(
            f"{stack.stack_name}: the template is about {size:,} bytes, over the {CLI_INLINE_LIMIT:,} bytes the CDK CLI "
            f"deploys inline, and these stacks need no bootstrap bucket to upload it to; {fix}")
    return problems


def stale_acknowledgements(config: FederationConfig) -> list[str]:
    """The config's cdk-nag acknowledgements that match no finding (CASES.md 13): a second synth
    records them without applying them, and each must still cover a finding."""
    if not any(role.acknowledgements for role in config.spoke.roles):
        return []
    with tempfile.TemporaryDirectory(prefix="nag-check-") as outdir:
        probe = cdk.App(outdir=outdir, analytics_reporting=False, context={RECORD_ONLY_CONTEXT: True})
        define_stacks(probe, config)
        try:
            probe.synth()
        except RuntimeError:
            pass  # the findings the acknowledgements cover fail this synth, as they should
        left = unmatched(recorded_acknowledgements(probe), report_findings(outdir))
    return [f"{config.source}: spoke.roles: acknowledgement {rule} on {path} matches no cdk-nag finding; "
            f"remove it (reason given: {reason})" for path, rule, reason in left if not path.startswith("SpokeStackSet")]


def write_stackset_templates(app: cdk.App, directory: str) -> None:
    """Each StackSet's template as a plain file in the cloud assembly, for the AWS CLI recipe."""
    for stack in app.node.children:
        if isinstance(stack, SpokeStackSet):
            (Path(directory) / f"{stack.stack_name}.stackset-template.json").write_text(stack.body)


if __name__ == "__main__":
    sys.exit(main())
