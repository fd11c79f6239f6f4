"""Configuration of the Terraform NLB driver (``nlb_driver = "terraform"``), nested in ``Settings``.

Written as an object (``{"terraform": {"dir": ...}}``) or as flat keys
(``terraform_dir`` in the file, ``JITSI_TERRAFORM_DIR`` in the environment).
The section is enabled when any of its keys is given; ``dir`` is then required.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Terraform variable names: an identifier (letters, digits, _ and -, not first).
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

VarValue = str | bool | int | float | list[object] | dict[str, object]


class TerraformSettings(BaseModel):
    """Where the operator's Terraform root lives and how to run the CLI against it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The operator's root configuration: it configures the provider and the
    # state backend and calls this project's module (terraform/README.md).
    dir: str
    binary: str = "terraform"  # a name on PATH or a path
    # Address of the NLB module in that root, for `apply -target` on start.
    nlb_target: str = "module.platform.module.jvb_nlb"
    # Root variable that switches the NLB on and off.
    nlb_variable: str = "nlb_enabled"
    # Extra `-var name=value` for every apply (booleans become true/false).
    vars: dict[str, VarValue] = Field(default_factory=dict)
    # Either a CLI config file (TF_CLI_CONFIG_FILE) or a provider mirror folder
    # from which the driver writes one (offline installs).
    cli_config_file: str | None = None
    plugin_mirror: str | None = None
    # State: `-backend-config key=value` for `terraform init` (remote backends),
    # or a local state file (`-state`, local backend only).
    backend_config: dict[str, str] = Field(default_factory=dict)
    state_path: str | None = None
    init: bool = True  # run `terraform init` once per worker before the first apply
    lock_timeout_seconds: float = Field(default=60.0, ge=0, le=3600)
    apply_timeout_seconds: float = Field(default=900.0, gt=0)

    @field_validator("dir", "binary", "nlb_target", "nlb_variable")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("vars")
    @classmethod
    def _var_names(cls, value: dict[str, VarValue]) -> dict[str, VarValue]:
        bad = sorted(name for name in value if not _VAR_NAME.match(name))
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} is not a Terraform variable name")
        return value
