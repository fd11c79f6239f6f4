"""What a Fargate task's image pulls cost: its images' sizes over each registry's throughput.

Fargate keeps no image between tasks, so every start pulls every image in full; the
figures (sizes per image, throughput per kind of registry, with their sources) are
data in ``images.json``. The field profile's task start is ``launch + pulls``, and
the scheduler gives each task the pull time of its own images (docs/emulator.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from infra.jitsi.spec import raw_spec, render

IMAGES_FILE = Path(__file__).with_name("images.json")
RegistryKind = Literal["docker_hub", "ecr", "ecr_public"]


@dataclass(frozen=True, slots=True)
class Catalog:
    """images.json without its prose: compressed MB per repository, MB/s per registry."""

    release: str
    sizes_mb: dict[str, float]
    throughput: dict[RegistryKind, float]
    launch_seconds: float


@cache
def catalog() -> Catalog:
    raw = json.loads(IMAGES_FILE.read_text())
    return Catalog(
        release=str(raw["release"]),
        sizes_mb={k: float(v["mb"]) for k, v in raw["images"].items()},
        throughput={k: float(v["value"]) for k, v in raw["throughput_mb_per_s"].items()},
        launch_seconds=float(raw["launch_seconds"]["value"]),
    )


def _split(image: str) -> tuple[str, str]:
    """(registry host, repository path) of ``image``; Docker's rule: the first part is a
    host only when it has a dot or a colon, or is ``localhost``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    return "docker.io", name


def registry_kind(image: str) -> RegistryKind:
    """Where ``image`` is pulled from, as far as its speed goes."""
    host, _ = _split(image)
    if host == "public.ecr.aws":
        return "ecr_public"
    if ".dkr.ecr." in host and host.endswith(".amazonaws.com"):
        return "ecr"
    return "docker_hub"  # docker.io and, for want of figures, any other registry


def size_mb(image: str) -> float:
    """Compressed size of ``image`` (0 for an image images.json does not know)."""
    _, path = _split(image)
    # A pull-through cache nests the upstream path under its prefix: match the end.
    for repo, mb in catalog().sizes_mb.items():
        if path == repo or path.endswith("/" + repo):
            return mb
    return 0.0


def pull_seconds(
    images: Iterable[str], cold: Callable[[str], bool] = lambda _image: False
) -> float:
    """Nominal seconds to pull ``images`` one after the other (they share one network
    interface, so parallel pulls do not add bandwidth). A ``cold`` image in a
    pull-through cache is fetched from its upstream first: Docker Hub's speed."""
    cat = catalog()
    total = 0.0
    for image in images:
        kind = registry_kind(image)
        speed = cat.throughput["docker_hub" if kind == "ecr" and cold(image) else kind]
        total += size_mb(image) / speed
    return total


def pinned_images(registry: str | None = None) -> list[str]:
    """The images of infra/jitsi/task.json at its pinned release (``registry``: another
    registry and namespace for the Jitsi images, e.g. a pull-through cache's)."""
    spec = raw_spec()
    variables = {
        "registry": registry or str(spec["registry"]),
        "release": str(spec["release"]),
        "sidecar_image": str(spec["sidecar_image"]),
    }
    return [render(str(c["image"]), variables) for c in spec["containers"]]


@cache
def pinned_pull_seconds() -> float:
    """Nominal pull time of the pinned task from its own registries (the scheduler asks
    on every tick)."""
    return pull_seconds(pinned_images())


def task_start_seconds(images: Iterable[str]) -> float:
    """Nominal start -> RUNNING of a Fargate task with ``images``: launch plus pulls."""
    return catalog().launch_seconds + pull_seconds(images)


def comparison(account: str = "123456789012", region: str = "us-east-1") -> list[tuple[str, float]]:
    """The pinned task's nominal start by where its Jitsi images come from (the table in
    docs/emulator.md, "Image pulls"; tests/emulator/test_image_pulls.py keeps them equal)."""
    hub = pinned_images()
    cache = pinned_images(f"{account}.dkr.ecr.{region}.amazonaws.com/cache/jitsi")
    launch = catalog().launch_seconds
    return [
        ("Docker Hub", launch + pull_seconds(hub)),
        ("ECR pull-through cache, first pull", launch + pull_seconds(cache, lambda _i: True)),
        ("ECR pull-through cache, later pulls", launch + pull_seconds(cache)),
    ]
