"""``CloudPlatform`` whose on-demand NLB is made and removed by Terraform.

Everything else (ECS scaling, registration, health, SSM, DNS, audit) is the
boto3 driver's, which this class wraps. On start the first NLB operation runs
one ``terraform apply -var nlb_enabled=true -target=<nlb module>`` and the other
two answer from its outputs; on stop the first delete runs one untargeted
``terraform apply -var nlb_enabled=false``. Anything with the project's names
that Terraform does not manage (made by the boto3 driver, say) is then removed
by the boto3 driver, so switching drivers never strands a billable resource.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.config_terraform import TerraformSettings
from bot.errors import CloudError
from bot.model import (
    BillableResource,
    LoadBalancer,
    PlatformObservation,
    ServiceState,
    TargetGroup,
    TargetHealth,
    Task,
)
from bot.ports import ProgressNote
from infra.aws import naming
from infra.aws.platform import Boto3Platform
from infra.settings import ConfigError
from infra.terraform.cli import ApplyResult, TerraformCli, TerraformError
from infra.terraform.stream import ApplyLog, UiEvent

# Outputs the root configuration must expose (terraform/examples/* do).
OUT_NLB_ARN = "nlb_arn"
OUT_NLB_DNS = "nlb_dns_name"
OUT_GROUPS = "target_group_arns"


@dataclass(frozen=True, slots=True)
class NlbOutputs:
    arn: str
    dns_name: str
    group_arns: dict[str, str]  # udp10000 / web443 / tcp4443 -> ARN


class TerraformPlatform:
    """The boto3 driver with Terraform owning the NLB, its listeners and target groups."""

    def __init__(self, settings: Settings, inner: Boto3Platform, cli: TerraformCli) -> None:
        if settings.terraform is None:
            raise ConfigError("nlb_driver is terraform but terraform_dir is not set.")
        self.settings = settings
        self.tf: TerraformSettings = settings.terraform
        self.inner = inner
        self.cli = cli
        self._note: ProgressNote | None = None
        self._initialised = not self.tf.init
        self._up: tuple[NlbOutputs, ApplyResult] | None = None
        self._down: ApplyLog | None = None

    # --- Terraform -------------------------------------------------------

    def _apply(self, enabled: bool, targets: list[str]) -> ApplyResult:
        if not self._initialised:
            self._say("Terraform: init", {"terraform": "init"})
            self.cli.init()
            self._initialised = True
        variables: dict[str, object] = {**self.tf.vars, self.tf.nlb_variable: enabled}
        return self.cli.apply(
            variables, targets, on_event=self._relay, timeout=self.tf.apply_timeout_seconds
        )

    def _relay(self, event: UiEvent) -> None:
        """Resource by resource into the job's progress (refreshes, data source reads and
        warnings stay out)."""
        if event.resource_event and event.action != "read":
            data: dict[str, Any] = {
                "terraform": event.type,
                "address": event.address,
                "action": event.action,
                "resource_type": event.resource_type,
            }
            if event.elapsed is not None:
                data["seconds"] = event.elapsed
            self._say(f"Terraform: {event.chat_message()}", data)
        elif event.type == "change_summary":
            self._say(
                f"Terraform: {event.message}", {"terraform": event.type, **(event.changes or {})}
            )

    def _say(self, message: str, data: dict[str, Any]) -> None:
        if self._note is not None:
            self._note(message, data)

    def _nlb_up(self) -> tuple[NlbOutputs, ApplyResult]:
        """Apply once per bring-up; later calls in the same job read the cached outputs."""
        if self._up is None:
            result = self._apply(True, [self.tf.nlb_target])
            self._up = (self._read_outputs(), result)
            self._down = None
        return self._up

    def _nlb_down(self) -> ApplyLog:
        """Apply once per teardown; if Terraform fails, say so and let boto3 remove it.

        A stop must leave nothing billing: the boto3 sweep after this deletes by
        name, and Terraform's next refresh sees the resources gone.
        """
        if self._down is None:
            try:
                self._down = self._apply(False, []).log
            except TerraformError as exc:
                self._say(
                    f"Terraform could not remove the NLB ({exc.user_message()}); "
                    "removing it with boto3 instead.",
                    {"terraform": "fallback", "error": type(exc).__name__},
                )
                self._down = ApplyLog()
            self._up = None
        return self._down

    def _read_outputs(self) -> NlbOutputs:
        out = self.cli.output()
        arn, dns, groups = out.get(OUT_NLB_ARN), out.get(OUT_NLB_DNS), out.get(OUT_GROUPS)
        if not arn or not isinstance(groups, dict):
            raise CloudError(
                f"terraform apply succeeded but the outputs {OUT_NLB_ARN!r} and "
                f"{OUT_GROUPS!r} are empty in {self.cli.workdir}.",
                f"The root configuration must pass {self.tf.nlb_variable} to the platform "
                f"module, export its outputs {OUT_NLB_ARN}, {OUT_NLB_DNS} and {OUT_GROUPS}, "
                f"and terraform_nlb_target must name the module ({self.tf.nlb_target}).",
            )
        return NlbOutputs(str(arn), str(dns or ""), {str(k): str(v) for k, v in groups.items()})

    # --- start: the NLB through Terraform --------------------------------

    def ensure_target_groups(self, requested_by: str, session: str) -> list[TargetGroup]:
        """Apply the NLB module (once) and return its target groups from the outputs."""
        outputs, _ = self._nlb_up()
        groups = []
        for spec in naming.group_specs(self.settings):
            key = spec.name.removeprefix(f"{self.settings.project_name}-")
            arn = outputs.group_arns.get(key)
            if arn is None:
                raise CloudError(
                    f"Terraform made no target group {key!r} (outputs: "
                    f"{', '.join(sorted(outputs.group_arns)) or 'none'}).",
                    "Pass the same enable_tcp_4443 to the module as to the bot "
                    "(terraform_vars), so both expect the same listeners.",
                )
            groups.append(
                TargetGroup(arn=arn, name=spec.name, protocol=spec.protocol, port=spec.port)
            )
        return groups

    def ensure_load_balancer(self, requested_by: str, session: str) -> LoadBalancer:
        """The NLB Terraform made, as AWS describes it under the bot's name for it."""
        outputs, _ = self._nlb_up()
        found = self.inner.describe_load_balancer()
        if found is None or found.arn != outputs.arn:
            raise CloudError(
                f"Terraform's NLB ({outputs.arn}) is not the one named "
                f"{naming.nlb_name(self.settings)!r} that the bot looks for.",
                "Give the module the bot's project_name (terraform_vars), so both "
                "derive the same names.",
            )
        return found

    def ensure_listeners(self, lb: LoadBalancer, groups: list[TargetGroup]) -> int:
        """Terraform made them with the NLB; returns how many listeners it created."""
        _, result = self._nlb_up()
        return result.log.count("create", "aws_lb_listener")

    # --- stop: the NLB through Terraform, then a boto3 sweep -------------

    def delete_listeners(self, lb: LoadBalancer) -> int:
        removed = self._nlb_down().count("delete", "aws_lb_listener")
        left = self.inner.describe_load_balancer()
        if left is not None:  # one Terraform does not manage (the boto3 driver's)
            removed += self.inner.delete_listeners(left)
        return removed

    def delete_load_balancer(self, lb: LoadBalancer) -> None:
        self._nlb_down()
        left = self.inner.describe_load_balancer()
        if left is not None:
            self.inner.delete_load_balancer(left)

    def delete_target_groups(self) -> int:
        removed = self._nlb_down().count("delete", "aws_lb_target_group")
        return removed + self.inner.delete_target_groups()

    # --- the rest is the boto3 driver's ----------------------------------

    def describe_load_balancer(self) -> LoadBalancer | None:
        return self.inner.describe_load_balancer()

    def load_balancer_public_ips(self, lb: LoadBalancer) -> list[str]:
        return self.inner.load_balancer_public_ips(lb)

    def publish_advertise_ips(self, ips: list[str]) -> None:
        self.inner.publish_advertise_ips(ips)

    def upsert_dns(self, lb: LoadBalancer) -> bool:
        return self.inner.upsert_dns(lb)

    def delete_dns(self) -> bool:
        return self.inner.delete_dns()

    def set_desired_count(self, count: int) -> None:
        self.inner.set_desired_count(count)

    def service_state(self) -> ServiceState | None:
        return self.inner.service_state()

    def list_tasks(self, *, include_stopped: bool = False) -> list[Task]:
        return self.inner.list_tasks(include_stopped=include_stopped)

    def register_targets(self, ips: list[str]) -> None:
        self.inner.register_targets(ips)

    def target_health(self) -> list[TargetHealth]:
        return self.inner.target_health()

    def audit(self) -> list[BillableResource]:
        return self.inner.audit()

    def observe(self) -> PlatformObservation:
        return replace(self.inner.observe(), calls=self.call_counts())

    def call_counts(self) -> dict[str, int]:
        """boto3's AWS calls plus ``terraform.<command>`` runs (the provider's own calls
        are not seen from here)."""
        counts = self.inner.call_counts()
        counts.update({f"terraform.{cmd}": n for cmd, n in self.cli.runs.items()})
        return counts

    def observe_progress(self, note: ProgressNote | None) -> None:
        """A new job begins: report to its note, and apply afresh when asked again."""
        self._note = note
        self._up = None
        self._down = None


def terraform_platform(settings: Settings, inner: Boto3Platform) -> TerraformPlatform:
    """The driver for ``settings`` (``nlb_driver = "terraform"``), its CLI configured."""
    tf = settings.terraform
    if tf is None:
        raise ConfigError(
            "nlb_driver is terraform but terraform_dir is not set.",
            "Set terraform_dir (JITSI_TERRAFORM_DIR) to the root configuration to apply.",
        )
    env: dict[str, str] = {}
    if tf.cli_config_file:
        env["TF_CLI_CONFIG_FILE"] = tf.cli_config_file
    elif tf.plugin_mirror:
        from infra.terraform.cli import mirror_cli_config

        folder = Path(tempfile.mkdtemp(prefix="jitsi-tf-"))
        env["TF_CLI_CONFIG_FILE"] = str(mirror_cli_config(Path(tf.plugin_mirror), folder / "tfrc"))
    if settings.aws_profile:
        env["AWS_PROFILE"] = settings.aws_profile
    cli = TerraformCli(
        workdir=Path(tf.dir),
        binary=tf.binary,
        env=env,
        lock_timeout_seconds=tf.lock_timeout_seconds,
        state_path=tf.state_path,
        backend_config=tf.backend_config,
    )
    return TerraformPlatform(settings, inner, cli)
