"""Fixtures for the Terraform tests: the provider mirror, a throwaway copy of
``terraform/``, the terraform CLI, and an in-process moto server.

Nothing here writes into the repository: every ``terraform init`` runs in a
copy of the tree under a pytest tmp dir, so no ``.terraform`` directory, lock
file or state is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = ROOT / "terraform"
REGION = "us-east-1"
PROVIDER_DIR = "registry.terraform.io/hashicorp/aws"
# An idempotency race of the provider against moto, retried once by ``Terraform.run``.
_RETRIED_RACE = "InvalidPermission.NotFound: The specified rule does not exist"


def find_plugin_mirror() -> Path | None:
    """``TF_PLUGIN_MIRROR``, else the first directory named ``tf-plugins`` under /opt, then /."""
    configured = os.environ.get("TF_PLUGIN_MIRROR")
    if configured:
        return Path(configured) if Path(configured).is_dir() else None
    skip = {"/proc", "/sys", "/dev", "/run", str(ROOT)}
    for top in ("/opt", "/"):
        for dirpath, dirnames, _ in os.walk(top):
            if "tf-plugins" in dirnames and (Path(dirpath) / "tf-plugins" / PROVIDER_DIR).is_dir():
                return Path(dirpath) / "tf-plugins"
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
    return None


@dataclass
class Terraform:
    """The terraform CLI bound to an environment, running in a copy of ``terraform/``."""

    env: dict[str, str]
    tree: Path
    initialised: set[Path] = field(default_factory=set)

    def run(
        self, workdir: Path, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = self._run(workdir, args, timeout)
        if args[:1] == ("apply",) and proc.returncode != 0 and _RETRIED_RACE in proc.stderr:
            # The provider's SDK retries a call whose answer it did not get (moto's
            # threaded server under a loaded CI machine); the retry of a revoke that
            # had succeeded finds no rule. Seen once in ~20 full runs. An operator
            # applies again; so does the test, once, and everything else must hold.
            proc = self._run(workdir, args, timeout)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} in {workdir} exited {proc.returncode}\n"
                f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-6000:]}"
            )
        return proc

    def _run(
        self, workdir: Path, args: tuple[str, ...], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["terraform", *args],
            cwd=workdir,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def dir(self, relative: str) -> Path:
        """``relative`` (to ``terraform/``) inside the copy, initialised once per session."""
        workdir = self.tree / relative
        if workdir not in self.initialised:
            self.run(workdir, "init", "-backend=false", "-input=false", "-no-color", timeout=180)
            self.initialised.add(workdir)
        return workdir

    def plan_json(
        self, workdir: Path, variables: Mapping[str, str], timeout: float = 300
    ) -> dict[str, Any]:
        """``terraform plan`` to a file, then its ``show -json``."""
        var_args = [f"-var={k}={v}" for k, v in variables.items()]
        planfile = workdir / "test.tfplan"
        self.run(
            workdir,
            "plan",
            "-input=false",
            "-no-color",
            "-lock=false",
            "-refresh=false",
            f"-out={planfile}",
            *var_args,
            timeout=timeout,
        )
        shown = self.run(workdir, "show", "-json", "-no-color", str(planfile), timeout=120)
        return dict(json.loads(shown.stdout))


@pytest.fixture(scope="session")
def plugin_mirror() -> Path:
    mirror = find_plugin_mirror()
    if mirror is None:
        pytest.skip(
            "no Terraform provider mirror: set TF_PLUGIN_MIRROR to a folder named tf-plugins"
        )
    return mirror


@pytest.fixture(scope="session")
def tf_env(tmp_path_factory: pytest.TempPathFactory, plugin_mirror: Path) -> dict[str, str]:
    """The environment for terraform: a CLI config that installs providers only from the mirror."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    config_dir = tmp_path_factory.mktemp("tf-cli")
    cli_config = config_dir / "terraform.tfrc"
    cli_config.write_text(
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path = {json.dumps(str(plugin_mirror))}\n  }}\n"
        '  direct {\n    exclude = ["*/*/*"]\n  }\n'
        "}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "AWS_"))}
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # The emulator example has static keys; these keep the SDK from looking further.
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
    )
    return env


def copy_tree(dest: Path) -> Path:
    """Copy ``terraform/`` without local state or provider directories.

    ``infra/jitsi/`` goes beside it: main.tf reads the task definition from
    ``../infra/jitsi/task.json``, the one file the bootstrap renders too.
    """
    ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan")
    shutil.copytree(TERRAFORM_DIR, dest, ignore=ignore)
    shutil.copytree(
        ROOT / "infra" / "jitsi",
        dest.parent / "infra" / "jitsi",
        ignore=shutil.ignore_patterns("*.py", "__pycache__"),
        dirs_exist_ok=True,
    )
    return dest


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory, tf_env: dict[str, str]) -> Terraform:
    """Terraform over a session-wide copy of ``terraform/`` (read-only use: validate, plan)."""
    return Terraform(env=tf_env, tree=copy_tree(tmp_path_factory.mktemp("tree") / "terraform"))


@dataclass(frozen=True)
class Moto:
    url: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _moto_up(url: str) -> bool:
    import urllib.request

    # The static dashboard page: cheap, unlike /moto-api/data.json, which dumps
    # every backend (seconds once the managed IAM policies are loaded).
    with urllib.request.urlopen(f"{url}/moto-api/", timeout=2) as resp:
        return bool(resp.status == 200)


@contextmanager
def moto_server() -> Iterator[Moto]:
    """An in-process moto server on a free loopback port.

    moto keeps its backends in module globals, so servers in one process share
    state: tests use distinct project names instead of relying on a fresh server.
    """
    # Read when moto's IAM backend loads: the AWS managed policies must exist
    # for anything that attaches them by ARN.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        wait_for(lambda: _moto_up(url), 30, "the moto server")
        yield Moto(url)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto() -> Iterator[Moto]:
    """A moto server shared by the plan tests (plans create nothing)."""
    with moto_server() as server:
        yield server
