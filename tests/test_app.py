"""The app as users run it: the pinned CDK CLI, the project's Node, a config file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def cdk(*args: str, outdir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / "cdk"), *args, "-o", str(outdir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_constructs_folder_does_not_shadow_the_library():
    import constructs
    import aws_cdk as cdk
    import oidc_federation
    assert not (ROOT / "constructs" / "__init__.py").exists()
    assert "site-packages" in Path(constructs.__file__).parts
    assert issubclass(cdk.Stack, constructs.Construct)
    assert Path(oidc_federation.__file__).parent == ROOT / "constructs" / "oidc_federation"
    # Also from the repository root as working directory, as `python app.py` runs.
    probe = subprocess.run([sys.executable, "-c", "import constructs, aws_cdk; print(constructs.__file__)"],
                           cwd=ROOT, capture_output=True, text=True, check=True)
    assert "site-packages" in probe.stdout


def test_cli_synth_of_the_bundled_example(tmp_path):
    result = cdk("synth", "SpokeStack", "--quiet", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "SpokeStack.template.json").read_text())
    assert {r["Type"] for r in template["Resources"].values()} == {"AWS::IAM::OIDCProvider", "AWS::IAM::Role"}
    assert "Node 20" not in result.stderr and "end-of-life" not in result.stderr


def test_cli_bad_config_writes_no_template(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "config" / "example.yaml").read_text().replace(
        "https://oidc.op1.openshiftapps.com/abc123", "https://oidc.op1.openshiftapps.com/abc123/"))
    out = tmp_path / "out"
    result = cdk("synth", "SpokeStack", "-c", f"config={bad}", outdir=out)
    assert result.returncode != 0
    assert (f"error: {bad}: hub.issuer_url: 'https://oidc.op1.openshiftapps.com/abc123/' ends with '/', which no "
            "token's issuer matches; use the canonical form https://oidc.op1.openshiftapps.com/abc123") in result.stderr.splitlines()
    assert not list(out.glob("*.template.json"))


def test_cli_missing_config(tmp_path):
    result = cdk("synth", "SpokeStack", "-c", "config=does/not/exist.yaml", outdir=tmp_path)
    assert result.returncode != 0
    assert ("error: does/not/exist.yaml: config file not found; pass -c config=PATH to a federation YAML file "
            "(the bundled example is config/example.yaml)") in result.stderr.splitlines()
    assert not list(tmp_path.glob("*.template.json"))


def test_cli_writes_the_stackset_template_as_a_plain_file(tmp_path):
    result = cdk("synth", "SpokeStackSet", "--quiet", "-c", "config=config/stackset-example.yaml", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    plain = (tmp_path / "SpokeStackSet.stackset-template.json").read_text()
    outer = json.loads((tmp_path / "SpokeStackSet.template.json").read_text())
    assert outer["Resources"]["StackSet"]["Properties"]["TemplateBody"] == plain
    # The same template `cdk synth SpokeStack` writes for this config (CLI context included).
    assert json.loads(plain) == json.loads((tmp_path / "SpokeStack.template.json").read_text())


def test_cli_refuses_an_outer_template_too_large_to_deploy_without_bootstrap(tmp_path):
    import yaml
    raw = yaml.safe_load((ROOT / "config" / "stackset-example.yaml").read_text())
    raw["stackset"]["organizational_unit_ids"] = [f"ou-abcd-{i:08d}" for i in range(1000)]
    config = tmp_path / "many.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = cdk("synth", "SpokeStackSet", "--quiet", "-c", f"config={config}", outdir=tmp_path / "out")
    assert result.returncode != 0
    line = next(l for l in result.stderr.splitlines() if l.startswith("error: SpokeStackSet: "))
    assert line.endswith("bytes the CDK CLI deploys inline, and these stacks need no bootstrap bucket to upload it to; "
                         "target fewer accounts or OUs (a parent OU or the root covers many), or create the StackSet "
                         "from the plain template with the AWS CLI (README)")
    # The plain template is still written: it is what the AWS CLI recipe uploads.
    assert (tmp_path / "out" / "SpokeStackSet.stackset-template.json").exists()


def test_cli_refuses_an_acknowledgement_that_matches_nothing(tmp_path):
    # CASES.md 13 for the config's own acknowledgements.
    import yaml
    raw = yaml.safe_load((ROOT / "config" / "example.yaml").read_text())
    raw["spoke"]["roles"][0]["acknowledgements"] = [
        {"id": "AwsSolutions::AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess]",
         "reason": "copied from an older config where the role had ReadOnlyAccess"}]
    config = tmp_path / "stale.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = cdk("synth", "SpokeStack", "--quiet", "-c", f"config={config}", outdir=tmp_path / "out")
    assert result.returncode != 0
    assert (f"error: {config}: spoke.roles: acknowledgement AwsSolutions-IAM4[Policy::arn:aws:iam::aws:policy/ReadOnlyAccess] "
            "on SpokeStack/Federation/RoleSpokeAccountRole matches no cdk-nag finding; remove it (reason given: copied "
            "from an older config where the role had ReadOnlyAccess)") in result.stderr.splitlines()


def test_cli_config_path_is_relative_to_the_callers_directory(tmp_path):
    (tmp_path / "mine.yaml").write_text((ROOT / "config" / "example.yaml").read_text())
    result = subprocess.run([str(ROOT / "scripts" / "cdk"), "synth", "SpokeStack", "--quiet", "-c", "config=mine.yaml",
                             "-o", str(tmp_path / "out")], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "SpokeStack.template.json").exists()


def test_cli_empty_config_value(tmp_path):
    result = cdk("synth", "SpokeStack", "-c", "config=", outdir=tmp_path)
    assert result.returncode != 0
    assert "error: -c config= is empty; name a federation YAML file, e.g. -c config=config/example.yaml" in result.stderr.splitlines()


def test_template_size_matches_the_yaml_the_cli_sends(tmp_path):
    # The size check must measure what the CDK CLI measures: the YAML it prints for `cdk synth`
    # is the same rendering it sends as TemplateBody.
    import app
    result = cdk("synth", "SpokeStack", "-c", "config=config/stackset-example.yaml", outdir=tmp_path)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "SpokeStack.template.json").read_text())
    assert abs(app.template_size(template) - len(result.stdout)) <= len(result.stdout) * 0.002
