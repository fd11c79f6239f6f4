"""Static checks of terraform/: formatting, validation of every root and module, checkov."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.terraform.conftest import ROOT, TERRAFORM_DIR, Terraform

# Every directory `terraform validate` must accept (the modules' own and each example).
CONFIGS = [".", "modules/jvb-nlb", "examples/emulator", "examples/aws"]
CHECKOV_CONFIG = TERRAFORM_DIR / ".checkov.yaml"


def test_fmt(terraform: Terraform) -> None:
    # -check never writes, so it can run on the repository itself.
    proc = terraform.run(
        ROOT,
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        "-no-color",
        str(TERRAFORM_DIR),
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, f"terraform fmt would change:\n{proc.stdout}{proc.stderr}"


@pytest.mark.parametrize("config", CONFIGS)
def test_validate(terraform: Terraform, config: str) -> None:
    workdir = terraform.dir(config)
    proc = terraform.run(workdir, "validate", "-json", "-no-color", check=False, timeout=120)
    result = json.loads(proc.stdout)
    assert result["valid"], json.dumps(result["diagnostics"], indent=2)
    # Warnings (deprecations) are failures too: they become errors on the next provider major.
    assert result["warning_count"] == 0, json.dumps(result["diagnostics"], indent=2)


@pytest.mark.parametrize("config", ["."] + [c for c in CONFIGS if c.startswith("modules/")])
def test_module_layout(config: str) -> None:
    """terraform-aws-alb conventions: the four files, a README, no provider block in modules."""
    directory = TERRAFORM_DIR / config
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{config}/{name} is missing"
    source = "\n".join(p.read_text() for p in directory.glob("*.tf"))
    assert not re.search(r'^provider\s+"', source, re.M), f"{config} declares a provider block"
    readme = (directory / "README.md").read_text()
    for block in re.finditer(r'^(variable|output)\s+"([^"]+)"', source, re.M):
        assert f"`{block.group(2)}`" in readme, (
            f"{config}/README.md does not list {block.group(1)} {block.group(2)}"
        )


def test_every_variable_is_typed_and_described() -> None:
    for path in TERRAFORM_DIR.rglob("variables.tf"):
        if ".terraform" in path.parts:
            continue
        blocks = re.split(r'^variable\s+"', path.read_text(), flags=re.M)[1:]
        for block in blocks:
            name = block.split('"', 1)[0]
            assert re.search(r"^\s+type\s+=", block, re.M), f"{path}: {name} has no type"
            assert re.search(r"^\s+description\s+=", block, re.M), (
                f"{path}: {name} has no description"
            )


def test_checkov_skips_are_justified() -> None:
    """Each skipped check in .checkov.yaml has a comment right above it (or above its group)."""
    lines = CHECKOV_CONFIG.read_text().splitlines()
    in_skips = False
    for i, line in enumerate(lines):
        if line.startswith("skip-check:"):
            in_skips = True
            continue
        if in_skips and re.match(r"\s+- CKV", line):
            above = [x.strip() for x in lines[max(0, i - 3) : i]]
            assert any(x.startswith("#") for x in above) or above[-1].startswith("- CKV"), (
                f"{line.strip()} is skipped without a reason"
            )


def test_checkov() -> None:
    pytest.importorskip(
        "checkov", reason="checkov is not installed (pip install checkov: dev extra)"
    )
    # No network: do not fetch Prisma Cloud guideline mappings.
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE")
    proc = subprocess.run(
        # The repository's tree (checkov only reads): it holds no .terraform dirs.
        [
            sys.executable,
            "-m",
            "checkov.main",
            "--directory",
            str(TERRAFORM_DIR),
            "--config-file",
            str(CHECKOV_CONFIG),
            "--output",
            "json",
            "--skip-download",
        ],
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert proc.stdout.strip(), f"checkov printed nothing:\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [
        f"{c['check_id']} {c['check_name']} -> {c['resource']} "
        f"({c['file_path']}:{c['file_line_range']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]
    assert not failed, "checkov failures:\n" + "\n".join(failed)
    passed = sum(r.get("summary", {}).get("passed", 0) for r in reports)
    assert passed > 50, "checkov scanned almost nothing: is the directory right?"
