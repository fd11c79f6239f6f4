"""Image pulls in the emulator's field profile, and ECR pull-through cache rules.

The pull model is checked against its data (images.json); the rules against a real
emulator subprocess over boto3, the way bootstrap and Terraform call them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.backends import get_backend

from infra.emulator import ecr_cache, pulls
from infra.emulator.profiles import Profile
from infra.emulator.scheduler import running_after
from infra.emulator.state import EmulatorState

REGION = "us-east-1"
ACCOUNT = "123456789012"
CACHE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/pulls-{uuid.uuid4().hex[:6]}/jitsi"


def _task(images: list[str]) -> Any:
    return SimpleNamespace(containers=[SimpleNamespace(image=i) for i in images])


def test_every_pinned_image_has_a_size_with_its_basis() -> None:
    raw = json.loads(pulls.IMAGES_FILE.read_text())
    assert raw["release"] == pulls.pinned_images()[0].rsplit(":", 1)[1]
    for image in pulls.pinned_images():
        assert pulls.size_mb(image) > 0, image
    assert all(v["basis"] for v in raw["images"].values())
    assert all(v["basis"] for v in raw["throughput_mb_per_s"].values())


def test_field_task_start_is_launch_plus_pulls_and_stays_near_40_s() -> None:
    field = Profile("field").delays
    expected = pulls.catalog().launch_seconds + pulls.pull_seconds(pulls.pinned_images())
    assert field.task_running == pytest.approx(expected)
    # ARCHITECTURE.md: Fargate task start 20-60 s in the field; the profile was 40 s.
    assert 35 <= field.task_running <= 45
    assert field.image_pulls == pytest.approx(field.task_running - pulls.catalog().launch_seconds)


def test_registry_kinds() -> None:
    assert pulls.registry_kind("docker.io/jitsi/web:stable-11031") == "docker_hub"
    assert pulls.registry_kind("jitsi/web:stable-11031") == "docker_hub"
    assert pulls.registry_kind("public.ecr.aws/docker/library/busybox:1.37.0") == "ecr_public"
    assert pulls.registry_kind(f"{CACHE}/web:stable-11031") == "ecr"
    assert pulls.size_mb(f"{CACHE}/jvb:stable-11031") == pulls.size_mb("jitsi/jvb:x")
    assert pulls.size_mb("example.org/other:1") == 0


def test_a_same_region_ecr_copy_starts_faster_and_the_profile_scales_it() -> None:
    hub, ecr = pulls.pinned_images(), pulls.pinned_images(CACHE)
    saved = pulls.task_start_seconds(hub) - pulls.task_start_seconds(ecr)
    assert saved > 10  # the figure docs/emulator.md quotes (about 12 s)
    state = EmulatorState(Profile("field", time_scale=0.5))
    assert running_after(state, _task(hub)) == pytest.approx(state.profile.delays.task_running)
    assert running_after(state, _task(ecr)) == pytest.approx(0.5 * pulls.task_start_seconds(ecr))
    instant = EmulatorState(Profile("instant"))
    assert running_after(instant, _task(ecr)) == 0
    # An image without a size: the profile's fixed start, never faster than PENDING.
    unknown = _task([*hub, "docker.io/library/nginx:1.27"])
    assert running_after(state, unknown) == pytest.approx(state.profile.delays.task_running)


def test_the_documented_comparison_is_the_model() -> None:
    rows = dict(pulls.comparison())
    doc = (pulls.IMAGES_FILE.parents[2] / "docs" / "emulator.md").read_text()
    assert f"| Docker Hub (default) | {rows['Docker Hub']:.1f} s |" in doc
    assert f"every later start | {rows['ECR pull-through cache, later pulls']:.1f} s |" in doc
    assert rows["ECR pull-through cache, first pull"] == pytest.approx(rows["Docker Hub"])


def test_a_pull_through_image_is_cold_until_a_task_has_pulled_it() -> None:
    backend = get_backend("ecr")[ACCOUNT][REGION]
    prefix = CACHE.split("/", 1)[1].removesuffix("/jitsi")
    ecr_cache._rules(backend)[prefix] = {"ecrRepositoryPrefix": prefix}
    images = pulls.pinned_images(CACHE)
    state = EmulatorState(Profile("field"))
    cold = running_after(state, _task(images))
    # The first pull goes to Docker Hub through the cache: no faster than Docker Hub.
    assert cold == pytest.approx(state.profile.delays.task_running)
    ecr_cache.pulled(_task(images), images)
    assert running_after(state, _task(images)) < cold - 10


# ---------------------------------------------------------------- the API, over HTTP


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_docker_hub_rule_needs_a_prefixed_secret(client: Callable[[str], Any]) -> None:
    ecr, sm = client("ecr"), client("secretsmanager")
    prefix = f"hub-{uuid.uuid4().hex[:6]}"
    hub = "registry-1.docker.io"
    with pytest.raises(ClientError) as exc:
        ecr.create_pull_through_cache_rule(ecrRepositoryPrefix=prefix, upstreamRegistryUrl=hub)
    assert _code(exc) == "InvalidParameterException"
    wrong = sm.create_secret(Name=f"docker-{prefix}", SecretString="{}")["ARN"]
    with pytest.raises(ClientError) as exc:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=hub, credentialArn=wrong
        )
    assert _code(exc) == "InvalidParameterException"
    secret = sm.create_secret(
        Name=f"{ecr_cache.SECRET_PREFIX}{prefix}",
        SecretString='{"username": "u", "accessToken": "t"}',
    )["ARN"]
    made = ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl=hub, credentialArn=secret
    )
    assert made["upstreamRegistry"] == "docker-hub"
    with pytest.raises(ClientError) as exc:
        ecr.create_pull_through_cache_rule(
            ecrRepositoryPrefix=prefix, upstreamRegistryUrl=hub, credentialArn=secret
        )
    assert _code(exc) == "PullThroughCacheRuleAlreadyExistsException"
    found = ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])
    assert [r["credentialArn"] for r in found["pullThroughCacheRules"]] == [secret]
    ecr.delete_pull_through_cache_rule(ecrRepositoryPrefix=prefix)
    with pytest.raises(ClientError) as exc:
        ecr.describe_pull_through_cache_rules(ecrRepositoryPrefixes=[prefix])
    assert _code(exc) == "PullThroughCacheRuleNotFoundException"


def test_ecr_public_rule_needs_no_credentials(client: Callable[[str], Any]) -> None:
    ecr = client("ecr")
    prefix = f"pub-{uuid.uuid4().hex[:6]}"
    ecr.create_pull_through_cache_rule(
        ecrRepositoryPrefix=prefix, upstreamRegistryUrl="public.ecr.aws"
    )
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert prefix in {r["ecrRepositoryPrefix"] for r in rules}
