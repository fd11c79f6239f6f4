"""The Terraform driver's CLI wrapper: the ``-json`` stream parser on recorded
output, and its errors from the real binary on a tiny provider-less root
(``terraform_data`` is built into Terraform, so init and apply take milliseconds).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import CloudError
from infra.terraform.cli import (
    TerraformCli,
    TerraformError,
    TerraformLocked,
    TerraformNotFound,
    format_var,
    var_args,
)
from infra.terraform.stream import ApplyLog, UiEvent, parse_line, summarise

DATA = Path(__file__).parent / "data"
NLB = "module.platform.module.jvb_nlb[0]"

TINY_ROOT = """
variable "nlb_enabled" {
  type    = bool
  default = false
}
variable "fail" {
  type    = bool
  default = false
}
variable "ports" {
  type    = list(number)
  default = []
}
resource "terraform_data" "nlb" {
  count = var.nlb_enabled ? 1 : 0
  input = var.ports
}
resource "terraform_data" "boom" {
  count = var.fail ? 1 : 0
  provisioner "local-exec" {
    command = "echo the AWS API said no >&2; exit 3"
  }
}
output "nlb_arn" {
  value = try("arn:fake:${terraform_data.nlb[0].id}", null)
}
output "ports" {
  value = try(terraform_data.nlb[0].output, null)
}
"""


def recorded(name: str) -> ApplyLog:
    log = ApplyLog()
    for line in (DATA / name).read_text().splitlines():
        event = parse_line(line)
        if event is not None:
            log.add(event)
    return log


# --- the stream parser on recorded output ----------------------------------


def test_nlb_on_stream_has_each_resource_with_its_duration() -> None:
    log = recorded("apply_nlb_on.jsonl")
    done = {e.address: e for e in log.completed()}
    lb = done[f"{NLB}.aws_lb.this"]
    assert lb.action == "create" and lb.resource_type == "aws_lb"
    assert lb.elapsed is not None and lb.elapsed >= 30  # the provider's NLB waiter
    assert lb.chat_message().startswith(f"{NLB}.aws_lb.this: Creation complete after")
    assert "[id=" not in lb.chat_message() and "[id=arn:" in lb.message
    assert log.count("create", "aws_lb_listener") == 2
    assert log.count("create", "aws_lb_target_group") == 2
    assert log.changes == {"add": 5, "change": 0, "import": 0, "remove": 0, "operation": "apply"}
    progress = [e for e in log.events if e.type == "apply_progress"]
    assert progress and all(e.address == f"{NLB}.aws_lb.this" for e in progress)
    assert [e.elapsed for e in progress][:2] == [10, 20]
    # The -target warning is a diagnostic, but not an error.
    assert not log.errors
    assert any(e.diagnostic and e.diagnostic.severity == "warning" for e in log.events)


def test_nlb_off_stream_counts_what_it_destroyed() -> None:
    log = recorded("apply_nlb_off.jsonl")
    assert log.count("delete", "aws_lb_listener") == 2
    assert log.count("delete", "aws_lb_target_group") == 2
    assert log.count("delete", "aws_lb") == 1
    assert log.changes["remove"] == 5
    refreshes = [e for e in log.events if e.type.startswith("refresh")]
    assert refreshes and not any(e.resource_event for e in refreshes)


def test_parse_line_ignores_what_is_not_an_event() -> None:
    assert parse_line("") is None
    assert parse_line("There are some problems with the CLI configuration:") is None
    assert parse_line("{not json") is None
    assert parse_line('{"no": "type"}') is None
    event = parse_line(
        '{"@level":"error","@message":"Error: x","type":"diagnostic",'
        '"diagnostic":{"severity":"error","summary":"Boom","detail":"' + "d" * 900 + '",'
        '"address":"aws_lb.this","range":{"filename":"main.tf","start":{"line":7}}}}'
    )
    assert isinstance(event, UiEvent) and event.diagnostic is not None
    assert event.address == "aws_lb.this" and event.diagnostic.where == "main.tf:7"
    line = event.diagnostic.one_line()
    assert line.startswith("aws_lb.this: Boom: ddd") and len(line) < 450


def test_variables_are_passed_as_single_arguments() -> None:
    assert format_var(True) == "true" and format_var(False) == "false"
    assert format_var(3) == "3" and format_var("a b; rm -rf /") == "a b; rm -rf /"
    assert format_var([1, 2]) == "[1, 2]" and format_var({"k": "v"}) == '{"k": "v"}'
    assert var_args({"nlb_enabled": True, "name": "x=y"}) == [
        "-var",
        "nlb_enabled=true",
        "-var",
        "name=x=y",
    ]
    with pytest.raises(TypeError):
        format_var(object())


# --- the real binary on a tiny root -------------------------------------


@pytest.fixture
def tiny(tmp_path: Path, tf_env: dict[str, str]) -> Iterator[TerraformCli]:
    (tmp_path / "main.tf").write_text(TINY_ROOT)
    cli = TerraformCli(
        workdir=tmp_path,
        env={"TF_CLI_CONFIG_FILE": tf_env["TF_CLI_CONFIG_FILE"]},
        lock_timeout_seconds=0,
    )
    cli.init()
    yield cli


def test_apply_streams_events_and_output_reads_values(tiny: TerraformCli) -> None:
    seen: list[UiEvent] = []
    result = tiny.apply({"nlb_enabled": True, "ports": [10000, 443]}, on_event=seen.append)
    assert result.added == 1 and result.destroyed == 0
    types = [e.type for e in seen]
    assert types.index("apply_start") < types.index("apply_complete")
    assert types[-2:] == ["change_summary", "outputs"]
    out = tiny.output()
    assert out["nlb_arn"].startswith("arn:fake:") and out["ports"] == [10000, 443]

    off = tiny.apply({"nlb_enabled": False})
    assert off.destroyed == 1 and off.log.count("delete", "terraform_data") == 1
    assert "nlb_arn" not in tiny.output()  # null outputs are left out
    assert tiny.runs == {"init": 1, "apply": 2, "output": 2}


def test_unknown_variable_is_a_cloud_error_with_terraforms_words(tiny: TerraformCli) -> None:
    with pytest.raises(CloudError) as info:
        tiny.apply({"nlb_enabled": True, "nlb_enabeld": True})
    message = info.value.user_message()
    assert "Value for undeclared variable" in message and '"nlb_enabeld"' in message


def test_failed_apply_names_the_resource_and_the_reason(tiny: TerraformCli) -> None:
    events: list[UiEvent] = []
    with pytest.raises(TerraformError) as info:
        tiny.apply({"fail": True}, on_event=events.append)
    message = str(info.value)
    assert message.startswith("terraform apply failed:")
    assert "terraform_data.boom[0]: local-exec provisioner error" in message
    assert "the AWS API said no" in message
    assert any(e.type == "apply_errored" for e in events)


def test_lock_contention_says_who_to_wait_for_and_how_to_unlock(tiny: TerraformCli) -> None:
    tiny.apply({})  # creates terraform.tfstate
    state = tiny.workdir / "terraform.tfstate"
    # What a running `terraform apply` holds: a POSIX lock on the state file
    # and the lock's description beside it.
    (tiny.workdir / ".terraform.tfstate.lock.info").write_text(
        json.dumps(
            {
                "ID": "6d1b5a5e-aaaa-bbbb-cccc-0123456789ab",
                "Operation": "OperationTypeApply",
                "Who": "bob@ops-host",
                "Version": "1.11.4",
                "Created": "2026-11-27T10:00:00Z",
                "Path": "terraform.tfstate",
            }
        )
    )
    fd = os.open(state, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(TerraformLocked) as info:
            tiny.apply({"nlb_enabled": True})
    finally:
        os.close(fd)
    err = info.value
    assert err.retryable
    assert "locked by another run" in str(err) and "bob@ops-host" in str(err)
    assert "force-unlock 6d1b5a5e-aaaa-bbbb-cccc-0123456789ab" in err.hint


def test_missing_binary_says_what_to_install(tmp_path: Path) -> None:
    cli = TerraformCli(workdir=tmp_path, binary="terraform-not-installed-here")
    with pytest.raises(TerraformNotFound) as info:
        cli.apply({"nlb_enabled": True})
    assert "was not found" in str(info.value)
    assert "terraform_binary" in info.value.hint and "boto3" in info.value.hint


def test_missing_directory_is_named(tmp_path: Path) -> None:
    cli = TerraformCli(workdir=tmp_path / "nope", binary=shutil.which("terraform") or "terraform")
    with pytest.raises(TerraformError, match="does not exist"):
        cli.output()


def test_summarise_keeps_it_short() -> None:
    log = recorded("apply_nlb_on.jsonl")
    assert summarise(log.errors) == ""
    lines = [
        json.dumps({"type": "diagnostic", "diagnostic": {"summary": f"e{i}"}}) for i in range(5)
    ]
    diagnostics = [e.diagnostic for e in map(parse_line, lines) if e and e.diagnostic]
    text = summarise(diagnostics, limit=3)
    assert text.splitlines() == ["e0", "e1", "e2", "(and 2 more)"]
