"""The stats sidecar's real shell command (infra/jitsi/task.json, as both drivers render
it), run under busybox's applets and under the host's sh, against a local Jicofo /stats
and task metadata endpoint v4 (tests/support/stats_sidecar.py): every line it prints is
valid CloudWatch Embedded Metric Format (the emulator's extraction, infra/emulator/emf.py),
with the names the worker reads (infra/participants_metric.py), and the network bytes
are per-interval differences of the cumulative counters, never negative."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from infra.emulator.emf import Datum, EmfError, parse
from infra.jitsi.contract import Effect, check, emitted_metrics
from infra.jitsi.spec import TaskInputs, container_definitions, contract
from infra.participants_metric import (
    METRIC,
    NAMESPACE,
    PROJECT_DIMENSION,
    RECEIVED_METRIC,
    SENT_METRIC,
)
from tests.support import stats_sidecar
from tests.support.stats_sidecar import Endpoints, serving

ARN = "arn:aws:ssm:us-east-1:123456789012:parameter/p"
INPUTS = TaskInputs(
    project="standup-p",
    region="us-east-1",
    public_url="https://meet.example.com",
    log_group="/ecs/standup-p",
    task_memory=8192,
    advertise_ips_arn=f"{ARN}/jvb/advertise-ips",
    jicofo_password_arn=f"{ARN}/xmpp/jicofo-auth-password",
    jvb_password_arn=f"{ARN}/xmpp/jvb-auth-password",
)
# Above 2**31 (a 32-bit shell would wrap): a task that has moved 2.4 GB.
RX0, TX0 = 2_400_000_000, 1_300_000_000


def sidecar(**changes: Any) -> dict[str, Any]:
    defs = container_definitions(replace(INPUTS, **changes))
    return next(c for c in defs if c["name"] == "participants")


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


@pytest.fixture(params=["busybox", "host"])
def path(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """busybox: a PATH with only the applets the image's busybox has (Debian's busybox
    1.35 here, the image's is 1.37); host: the machine's sh (dash), GNU wget and sed."""
    if request.param == "busybox":
        folder = stats_sidecar.busybox_bin(tmp_path)
        if folder is None:
            pytest.skip("no busybox (make system-deps installs it)")
        return str(folder)
    if shutil.which("wget") is None:
        pytest.skip("no wget on the host")
    return "/usr/bin:/bin"


def run(path: str, endpoints: Endpoints, lines: int, **kwargs: Any) -> list[str]:
    c = sidecar()
    with serving(endpoints) as url:
        return stats_sidecar.run(
            c["command"], environment(c), path=path, base_url=url, lines=lines, **kwargs
        )


def datums(lines: list[str]) -> list[Datum]:
    out = []
    for line in lines:
        found = parse(line)  # raises EmfError on an invalid document
        assert found, f"not an EMF line: {line}"
        out.extend(found)
    return out


def by_name(data: list[Datum], name: str) -> list[float]:
    return [d.values[0] for d in data if d.name == name]


def test_bytes_are_differences_of_the_counters_and_a_reset_publishes_nothing(path: str) -> None:
    readings: list[stats_sidecar.Reading] = [
        (RX0, TX0),  # the baseline, read as the sidecar starts: nothing printed
        (RX0 + 1_000, TX0 + 250_000),
        "500",  # the endpoint fails once: no line, the baseline stays
        (RX0 + 3_000, TX0 + 900_000),  # so this difference spans two intervals
        (40_000, 70_000),  # counters went down (a reset): no line, a new baseline
        (41_500, 71_000),
    ]
    # Loop rounds 1-6: a Participants line each; bytes in rounds 1, 3, 5 and 6 (0, 0).
    lines = run(path, Endpoints(readings), lines=10)
    data = datums(lines)
    assert by_name(data, METRIC) == [3.0] * 6
    assert by_name(data, SENT_METRIC) == [250_000.0, 650_000.0, 1_000.0, 0.0]
    assert by_name(data, RECEIVED_METRIC) == [1_000.0, 2_000.0, 1_500.0, 0.0]
    for d in data:
        assert d.namespace == NAMESPACE
        assert d.dimensions == ((PROJECT_DIMENSION, INPUTS.project),)
        assert d.unit == ("Count" if d.name == METRIC else "Bytes")
    # One line per metric family, both byte counts on one line, one timestamp each.
    network = [json.loads(line) for line in lines if SENT_METRIC in line]
    assert all(RECEIVED_METRIC in doc for doc in network)
    assert all(isinstance(doc["_aws"]["Timestamp"], int) for doc in network)


def test_compact_json_and_any_interface_name(path: str) -> None:
    endpoints = Endpoints([(10, 20), (15, 120)], pretty=False, iface="eth0")
    data = datums(run(path, endpoints, lines=2))
    assert (by_name(data, SENT_METRIC), by_name(data, RECEIVED_METRIC)) == ([100.0], [5.0])


def test_no_metadata_endpoint_no_bytes_and_participants_go_on(path: str) -> None:
    """Off Fargate 1.4.0 (no ECS_CONTAINER_METADATA_URI_V4), or with an endpoint that
    answers nothing usable, the sidecar still reports Jicofo's count."""
    data = datums(run(path, Endpoints([(1, 1)], participants=0), lines=3, metadata=False))
    assert by_name(data, METRIC) == [0.0, 0.0, 0.0]
    assert not by_name(data, SENT_METRIC)
    data = datums(run(path, Endpoints(["garbage", "empty", "500"]), lines=3))
    assert [d.name for d in data] == [METRIC] * 3


def test_jicofo_down_means_no_participants_line_but_bytes_go_on(path: str) -> None:
    data = datums(run(path, Endpoints([(0, 0), (5, 7)], participants=None), lines=2))
    assert {d.name for d in data} == {SENT_METRIC, RECEIVED_METRIC}
    assert by_name(data, SENT_METRIC) == [7.0, 0.0]


def test_the_task_definition_sets_the_interval_and_jicofo_url() -> None:
    env = environment(sidecar())
    assert env == {"JICOFO_STATS_URL": "http://127.0.0.1:8888/stats", "STATS_INTERVAL": "60"}
    c = sidecar()
    assert c["command"][:2] == ["sh", "-c"]
    # Only the applets the contract names, and no Terraform template syntax.
    raw = json.dumps(contract()["images"]["busybox"])
    for applet in stats_sidecar.APPLETS:
        assert applet in raw
    assert "%{" not in c["command"][2]


def test_the_contract_reads_the_metrics_off_the_command() -> None:
    c = sidecar()
    assert emitted_metrics(c) == {METRIC, SENT_METRIC, RECEIVED_METRIC}
    assert {m["name"] for m in contract()["images"]["busybox"]["metrics"]} == {
        METRIC,
        SENT_METRIC,
        RECEIVED_METRIC,
    }
    emf = contract()["images"]["busybox"]["emf"]
    assert (emf["namespace"], emf["dimensions"]) == (NAMESPACE, [[PROJECT_DIMENSION]])
    # The command before it read the network counters: Participants only, and a policy
    # violation per missing metric (the emulator publishes only what is printed).
    old = dict(c, command=["sh", "-c", c["command"][2].split("net;")[0]])
    assert emitted_metrics(old) == set()  # no loop, no Participants line either
    participants_only = dict(c, command=["sh", "-c", stats_sidecar.PARTICIPANTS_ONLY])
    assert emitted_metrics(participants_only) == {METRIC}
    found = check([participants_only])
    assert {(v.effect, v.subject) for v in found} == {
        (Effect.POLICY, SENT_METRIC),
        (Effect.POLICY, RECEIVED_METRIC),
    }
    assert any("task-metadata-endpoint-v4-fargate" in v.source for v in found)
    wrong_url = dict(c, environment=[{"name": "JICOFO_STATS_URL", "value": "http://x/"}])
    assert any("JICOFO_STATS_URL" in v.message for v in check([wrong_url]))


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"_aws":{"CloudWatchMetrics":[]}}', "Timestamp"),
        ('{"_aws":{"Timestamp":1,"CloudWatchMetrics":{}}}', "array"),
        (
            '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["P"]],'
            '"Metrics":[{"Name":"B","Unit":"Bytes"}]}]},"P":1,"B":2}',
            "string member",
        ),
        (
            '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["P"]],'
            '"Metrics":[{"Name":"B","Unit":"Bytes"}]}]},"P":"p","B":"2"}',
            "number",
        ),
        (
            '{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[],'
            '"Metrics":[{"Name":"B","Unit":"Octets"}]}]},"B":2}',
            "not a CloudWatch unit",
        ),
    ],
)
def test_invalid_emf_is_refused(line: str, why: str) -> None:
    with pytest.raises(EmfError, match=why):
        parse(line)


def test_plain_lines_are_no_emf() -> None:
    assert parse("jicofo is down") == [] and parse('{"level":"info"}') == []
