"""Shared fixtures: one real aws-cdk-lib synth per distinct config, cached for the session."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml

from oidc_federation.config import parse_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"

# jsii spawns the Node that is first on PATH: make it the project's Node 22 when present.
_node_bin = ROOT / "node_modules" / "node" / "bin"
if _node_bin.is_dir() and str(_node_bin) not in os.environ.get("PATH", "").split(os.pathsep)[:1]:
    os.environ["PATH"] = f"{_node_bin}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


def example_raw() -> dict:
    """The bundled example config as a fresh dict, for tests to vary."""
    return yaml.safe_load(EXAMPLE_CONFIG.read_text())


@dataclass
class Synth:
    template: dict
    outdir: Path
    app: cdk.App
    error: Exception | None = None

    def resources(self, type_name: str) -> dict:
        return {k: r for k, r in self.template.get("Resources", {}).items() if r["Type"] == type_name}


_cache: dict[str, Synth] = {}


def synth(raw: dict, *, context: dict | None = None, build=None) -> Synth:
    """Synthesize SpokeStack (or ``build(app, config)``) for ``raw`` with cdk-nag, cached by input.

    A failing validation (cdk-nag) is kept in ``Synth.error``; the template is still read.
    """
    key = json.dumps([raw, context or {}, getattr(build, "__qualname__", None)], sort_keys=True, default=str)
    if key in _cache:
        return _cache[key]
    from oidc_federation.nag import add_nag_checks
    from stacks.spoke_stack import SpokeStack

    outdir = Path(tempfile.mkdtemp(prefix="synth-"))
    app = cdk.App(outdir=str(outdir), analytics_reporting=False, context=context or {})
    config = parse_config(copy.deepcopy(raw), source="test.yaml")
    if build is None:
        SpokeStack(app, "SpokeStack", config=config)
    else:
        build(app, config)
    add_nag_checks(app)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:
        error = exc
    template_path = outdir / "SpokeStack.template.json"
    template = json.loads(template_path.read_text()) if template_path.exists() else {}
    result = Synth(template=template, outdir=outdir, app=app, error=error)
    _cache[key] = result
    return result


@pytest.fixture(scope="session")
def example_synth() -> Synth:
    result = synth(example_raw())
    assert result.error is None, result.error
    return result
