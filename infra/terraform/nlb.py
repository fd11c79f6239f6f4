"""The NLB made and removed by Terraform: the ``NlbProvisioner`` of ``nlb_driver =
"terraform"``. Everything else about the NLB (reading, attaching, the sweep by name)
is ``infra.aws.nlb.NlbIngress``'s, whichever provisioner it has.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.config_terraform import TerraformSettings
from bot.errors import CloudError
from bot.model import SessionTags
from bot.ports import ProgressNote
from infra.aws import certificate, naming
from infra.aws.elb import LoadBalancer, find_load_balancer
from infra.aws.session import AwsClients
from infra.settings import ConfigError
from infra.terraform.cli import ApplyResult, TerraformCli, TerraformError, mirror_cli_config
from infra.terraform.stream import UiEvent

# Outputs the root configuration must expose (terraform/examples/* do).
OUT_NLB_ARN = "nlb_arn"
OUT_NLB_DNS = "nlb_dns_name"
OUT_GROUPS = "target_group_arns"


@dataclass(frozen=True, slots=True)
class NlbOutputs:
    arn: str
    dns_name: str
    group_arns: dict[str, str]  # udp10000 / web443 / tcp4443 -> ARN


class TerraformNlbProvisioner:
    """The NLB, its listeners and target groups as Terraform's ``nlb_enabled`` switch.

    ``create`` runs ``terraform apply -var nlb_enabled=true -target=<nlb module>`` and
    checks its outputs against the names the bot derives; ``destroy`` runs an untargeted
    ``apply -var nlb_enabled=false``. Resources with the project's names that Terraform
    does not manage (made by the boto3 provisioner, say) are swept by the ingress after.
    """

    def __init__(self, settings: Settings, clients: AwsClients, cli: TerraformCli) -> None:
        if settings.terraform is None:
            raise ConfigError("nlb_driver is terraform but terraform_dir is not set.")
        self.settings = settings
        self.tf: TerraformSettings = settings.terraform
        self.clients = clients
        self.cli = cli
        self._initialised = not self.tf.init

    def calls(self) -> dict[str, int]:
        """``terraform.<command>`` runs (the provider's own AWS calls are not seen here)."""
        return {f"terraform.{cmd}": n for cmd, n in self.cli.runs.items()}

    def create(self, tags: SessionTags, note: ProgressNote) -> LoadBalancer:
        # As with boto3: no issued certificate, no NLB (and no apply that would
        # fail half-way on AWS, which refuses a TLS listener without one).
        certificate.listener_certificate(self.settings, self.clients)
        self._apply(True, [self.tf.nlb_target], note)
        outputs = self._read_outputs()
        for spec in naming.group_specs(self.settings):
            key = spec.name.removeprefix(f"{self.settings.project_name}-")
            if key not in outputs.group_arns:
                raise CloudError(
                    f"Terraform made no target group {key!r} (outputs: "
                    f"{', '.join(sorted(outputs.group_arns)) or 'none'}).",
                    "Pass the same enable_tcp_4443 to the module as to the bot "
                    "(terraform_vars), so both expect the same listeners.",
                )
        found = find_load_balancer(self.settings, self.clients)
        if found is None or found.arn != outputs.arn:
            raise CloudError(
                f"Terraform's NLB ({outputs.arn}) is not the one named "
                f"{naming.nlb_name(self.settings)!r} that the bot looks for.",
                "Give the module the bot's project_name (terraform_vars), so both "
                "derive the same names.",
            )
        return found

    def destroy(self, note: ProgressNote) -> None:
        """Apply with the NLB off; if Terraform fails, say so: the boto3 sweep after this
        deletes by name (a stop must leave nothing billing), and Terraform's next
        refresh sees the resources gone."""
        try:
            self._apply(False, [], note)
        except TerraformError as exc:
            note(
                f"Terraform could not remove the NLB ({exc.user_message()}); "
                "removing it with boto3 instead.",
                {"terraform": "fallback", "error": type(exc).__name__},
            )

    # --- Terraform -------------------------------------------------------

    def _apply(self, enabled: bool, targets: list[str], note: ProgressNote) -> ApplyResult:
        if not self._initialised:
            note("Terraform: init", {"terraform": "init"})
            self.cli.init()
            self._initialised = True
        variables: dict[str, object] = {**self.tf.vars, self.tf.nlb_variable: enabled}
        # The AWS provider appends TF_APPEND_USER_AGENT to its User-Agent, so its calls
        # name the job's requester in CloudTrail as the bot's own boto3 calls do.
        self.cli.env = {**self.cli.env, "TF_APPEND_USER_AGENT": self.clients.user_agent}
        return self.cli.apply(
            variables,
            targets,
            on_event=lambda event: _relay(event, note),
            timeout=self.tf.apply_timeout_seconds,
        )

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


def _relay(event: UiEvent, note: ProgressNote) -> None:
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
        note(f"Terraform: {event.chat_message()}", data)
    elif event.type == "change_summary":
        note(f"Terraform: {event.message}", {"terraform": event.type, **(event.changes or {})})


def terraform_provisioner(settings: Settings, clients: AwsClients) -> TerraformNlbProvisioner:
    """The provisioner for ``settings`` (``nlb_driver = "terraform"``), its CLI configured."""
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
    return TerraformNlbProvisioner(settings, clients, cli)
