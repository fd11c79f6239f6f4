"""A small typed wrapper over the ``terraform`` CLI: init, apply (streamed), output.

python-terraform is unmaintained and broken with Terraform 1.11 (docs/decisions.md),
so this runs the binary itself: arguments as a list (no shell), variables as
``-var name=value`` with booleans written ``true``/``false``, and ``apply -json``
read line by line so each resource's progress reaches the caller while it happens.
Every failure becomes a ``TerraformError`` (a ``CloudError``) that says what to do.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bot.errors import CloudError
from infra.terraform.stream import ApplyLog, UiEvent, lock_id, parse_line, summarise

log = logging.getLogger("infra.terraform")

# Terraform reads these instead of asking; the checkpoint call would go online.
BASE_ENV = {"TF_IN_AUTOMATION": "1", "TF_INPUT": "0", "CHECKPOINT_DISABLE": "1"}
# After SIGINT Terraform stops gracefully (and releases its lock); give it this long.
INTERRUPT_GRACE_SECONDS = 30.0


class TerraformError(CloudError):
    """Terraform failed; the message carries its diagnostics, summarised."""


class TerraformNotFound(TerraformError):
    """The terraform binary is missing."""


class TerraformLocked(TerraformError):
    """Someone else holds the state lock."""


def format_var(value: object) -> str:
    """A ``-var`` value as Terraform parses it: true/false, numbers, JSON for collections."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list | tuple | dict):
        # HCL accepts JSON syntax for lists, maps and objects on the command line.
        return json.dumps(value)
    raise TypeError(f"cannot pass {type(value).__name__} as a Terraform variable")


def var_args(variables: Mapping[str, object]) -> list[str]:
    """``["-var", "name=value", ...]``: one argv item each, so nothing is shell-parsed."""
    out: list[str] = []
    for name, value in variables.items():
        out += ["-var", f"{name}={format_var(value)}"]
    return out


def mirror_cli_config(mirror: Path, dest: Path) -> Path:
    """Write a CLI config that installs providers only from the folder ``mirror``."""
    dest.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path = {json.dumps(str(mirror))}\n  }}\n"
        '  direct {\n    exclude = ["*/*/*"]\n  }\n'
        "}\n",
        encoding="utf-8",
    )
    return dest


@dataclass(frozen=True, slots=True)
class ApplyResult:
    log: ApplyLog
    seconds: float

    @property
    def added(self) -> int:
        return int(self.log.changes.get("add", 0))

    @property
    def destroyed(self) -> int:
        return int(self.log.changes.get("remove", 0))


@dataclass
class TerraformCli:
    """The CLI bound to one root configuration directory."""

    workdir: Path
    binary: str = "terraform"
    env: Mapping[str, str] = field(default_factory=dict)  # added to this process's environment
    lock_timeout_seconds: float = 60.0
    state_path: str | None = None
    backend_config: Mapping[str, str] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)  # command -> times run

    def _env(self) -> dict[str, str]:
        # Inherited on purpose: the provider reads AWS credentials the worker has.
        return {**os.environ, **BASE_ENV, **self.env}

    def _argv(self, command: str, *args: str) -> list[str]:
        return [self.binary, f"-chdir={self.workdir}", command, *args]

    def _spawn(self, argv: list[str]) -> subprocess.Popen[str]:
        if not self.workdir.is_dir():
            raise TerraformError(
                f"Terraform directory {self.workdir} does not exist.",
                "Set terraform_dir to the root configuration that calls the platform module.",
            )
        self.runs[argv[2]] = self.runs.get(argv[2], 0) + 1
        try:
            return subprocess.Popen(
                argv,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,  # our SIGINT on timeout reaches terraform only
            )
        except FileNotFoundError:
            raise TerraformNotFound(
                f"The terraform binary {self.binary!r} was not found.",
                "Install Terraform 1.5 or newer on the worker's host (it must be on PATH), "
                "or set terraform_binary to its path; or use nlb_driver boto3.",
            ) from None
        except PermissionError:
            raise TerraformNotFound(
                f"{self.binary!r} is not executable.", "Check terraform_binary."
            ) from None

    def _run(self, argv: list[str], timeout: float) -> tuple[int, str, str]:
        proc = self._spawn(argv)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _interrupt(proc)
            raise TerraformError(
                f"terraform {argv[2]} did not finish within {timeout:.0f} s.", retryable=True
            ) from None
        return proc.returncode, out, err

    def version(self) -> str:
        """``terraform version -json``'s version string (also proves the binary runs)."""
        code, out, err = self._run(self._argv("version", "-json"), 30)
        if code != 0:
            raise TerraformError(f"terraform version failed: {_tail(err or out)}")
        return str(json.loads(out).get("terraform_version", "?"))

    def init(self, timeout: float = 300.0) -> None:
        """``terraform init``: providers and backend; safe to repeat."""
        args = ["-input=false", "-no-color"]
        args += [f"-backend-config={k}={v}" for k, v in self.backend_config.items()]
        code, out, err = self._run(self._argv("init", *args), timeout)
        if code != 0:
            raise TerraformError(
                f"terraform init failed in {self.workdir}: {_tail(err or out)}",
                "Check the provider installation (terraform_cli_config_file or "
                "terraform_plugin_mirror for offline hosts) and the backend settings.",
            )

    def apply(
        self,
        variables: Mapping[str, object],
        targets: Sequence[str] = (),
        on_event: Callable[[UiEvent], None] | None = None,
        timeout: float = 900.0,
    ) -> ApplyResult:
        """``terraform apply -json``; each parsed line goes to ``on_event`` as it comes.

        Raises ``TerraformLocked`` on lock contention and ``TerraformError`` with the
        diagnostics summarised on any other failure (unknown variable, AWS error...).
        """
        args = [
            "-auto-approve",
            "-input=false",
            "-json",
            f"-lock-timeout={self.lock_timeout_seconds:g}s",
            *var_args(variables),
            *(f"-target={t}" for t in targets),
        ]
        if self.state_path:
            args.append(f"-state={self.state_path}")
        argv = self._argv("apply", *args)
        log.info("running %s", " ".join(argv))
        started = time.monotonic()
        proc = self._spawn(argv)
        applied = ApplyLog()
        stderr: list[str] = []
        drain = threading.Thread(target=_collect, args=(proc.stderr, stderr), daemon=True)
        drain.start()
        expired = threading.Event()

        def on_timeout() -> None:
            expired.set()
            _interrupt(proc)

        timer = threading.Timer(timeout, on_timeout)
        timer.daemon = True
        timer.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                event = parse_line(line)
                if event is None:
                    if line.strip():
                        stderr.append(line)  # plain text amid the JSON: keep it for errors
                    continue
                applied.add(event)
                if on_event is not None:
                    on_event(event)
            code = proc.wait()
        finally:
            timer.cancel()
            drain.join(timeout=5)
        seconds = round(time.monotonic() - started, 3)
        if code != 0:
            raise self._apply_error(applied, "".join(stderr), timed_out=expired.is_set())
        return ApplyResult(applied, seconds)

    def _apply_error(self, applied: ApplyLog, stderr: str, *, timed_out: bool) -> TerraformError:
        locked = applied.lock_error()
        if locked is not None:
            held = lock_id(locked)
            unlock = (
                f"terraform -chdir={self.workdir} force-unlock {held}"
                if held
                else ("terraform force-unlock <ID>")
            )
            return TerraformLocked(
                f"The Terraform state is locked by another run (waited "
                f"{self.lock_timeout_seconds:g} s). {locked.one_line()}",
                "Wait for that run to end and try again; if it died, release the lock "
                f"with `{unlock}`.",
                retryable=True,
            )
        if timed_out:
            return TerraformError(
                "terraform apply ran past terraform_apply_timeout_seconds and was interrupted.",
                "Look at the worker's log; raise terraform_apply_timeout_seconds if AWS is slow.",
                retryable=True,
            )
        errors = applied.errors
        if errors:
            return TerraformError(f"terraform apply failed:\n{summarise(errors)}")
        return TerraformError(f"terraform apply failed: {_tail(stderr) or 'no diagnostic'}")

    def output(self, timeout: float = 120.0) -> dict[str, Any]:
        """Every root output's value (``terraform output -json``); null outputs are absent."""
        args = ["-json", "-no-color"]
        if self.state_path:
            args.append(f"-state={self.state_path}")
        code, out, err = self._run(self._argv("output", *args), timeout)
        if code != 0:
            raise TerraformError(f"terraform output failed: {_tail(err or out)}")
        raw = json.loads(out or "{}")
        return {name: item.get("value") for name, item in raw.items()}


def _collect(stream: IO[str] | None, into: list[str]) -> None:
    if stream is None:
        return
    for line in stream:
        into.append(line)


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """SIGINT (Terraform then stops cleanly and unlocks), SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=INTERRUPT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(text: str, lines: int = 8) -> str:
    kept = [x.rstrip() for x in text.strip().splitlines() if x.strip()][-lines:]
    return " ".join(kept)
