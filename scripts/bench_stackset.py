#!/usr/bin/env python3
"""Benchmark: SpokeStackSet synth time and template sizes for 1, 100 and 1,000 targets.

    scripts/bench_stackset.py [--repeat N]

Targets are accounts of a self_managed StackSet and OUs of a service_managed one. The spoke
template (the StackSet's TemplateBody) must not grow with them; the outer template grows only by
the target list itself. Prints a table and the 1,000-to-1 ratios.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # before the imports below, which need the project's venv
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import _venv

    _venv.ensure("bench_stackset", __file__, ("aws_cdk", "oidc_federation"))

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = f"{ROOT / 'node_modules' / 'node' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
# As `scripts/cdk synth` runs the app: with path metadata, so the sizes are the CLI's.
os.environ.setdefault("CDK_CONTEXT_JSON", json.dumps({"aws:cdk:enable-path-metadata": True}))

import aws_cdk as cdk  # noqa: E402
import yaml  # noqa: E402

from app import CLI_INLINE_LIMIT, template_size  # noqa: E402

from oidc_federation.config import parse_config  # noqa: E402
from oidc_federation.nag import add_nag_checks  # noqa: E402
from stacks.spoke_stackset import SpokeStackSet  # noqa: E402

SIZES = (1, 100, 1000)


def config_for(model: str, targets: int) -> dict:
    raw = yaml.safe_load((ROOT / "config" / "stackset-example.yaml").read_text())
    stackset = raw["stackset"]
    if model == "self_managed":
        stackset.update(permission_model="self_managed", organizational_unit_ids=[], auto_deployment=None,
                        accounts=[f"{200000000000 + i}" for i in range(targets)])
    else:
        stackset["organizational_unit_ids"] = [f"ou-abcd-{i:08d}" for i in range(targets)]
    return raw


def measure(raw: dict) -> tuple[float, int, int]:
    """Seconds for one synth of SpokeStackSet (with cdk-nag), outer template size as the CLI
    measures it (YAML), body bytes."""
    config = parse_config(copy.deepcopy(raw))
    with tempfile.TemporaryDirectory() as outdir:
        started = time.perf_counter()
        app = cdk.App(outdir=outdir, analytics_reporting=False)
        stack = SpokeStackSet(app, "SpokeStackSet", config=config)
        add_nag_checks(app)
        app.synth()
        elapsed = time.perf_counter() - started
        outer = json.loads((Path(outdir) / "SpokeStackSet.template.json").read_text())
    return elapsed, template_size(outer), len(stack.body.encode())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_stackset", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="synths per size; the median is shown (default 3)")
    args = parser.parse_args(argv)
    measure(config_for("service_managed", 1))  # warm up jsii
    print(f"{'model':<16}{'targets':>8}{'synth s':>10}{'outer YAML':>13}{'body bytes':>12}  (app refuses outer > {CLI_INLINE_LIMIT:,})")
    for model in ("service_managed", "self_managed"):
        rows = {}
        for size in SIZES:
            runs = [measure(config_for(model, size)) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            rows[size] = (seconds, runs[0][1], runs[0][2])
            refused = "  refused by the app" if runs[0][1] > CLI_INLINE_LIMIT else ""
            print(f"{model:<16}{size:>8}{seconds:>10.2f}{runs[0][1]:>13,}{runs[0][2]:>12,}{refused}")
        first, last = rows[SIZES[0]], rows[SIZES[-1]]
        print(f"{model:<16} ratio {SIZES[-1]}:{SIZES[0]}  synth time x{last[0] / first[0]:.2f}, "
              f"outer template x{last[1] / first[1]:.2f}, StackSet body x{last[2] / first[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
