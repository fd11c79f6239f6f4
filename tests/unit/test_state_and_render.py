"""The transition table, the event wire format, and the one-message renderer."""

from __future__ import annotations

import pytest

from bot.errors import IllegalTransition
from bot.events import Event, EventKind
from bot.model import JobId
from bot.render import ProgressView, event_line
from bot.state import TRANSITIONS, PlatformState, PlatformStatus, check_transition


def test_every_state_has_a_row() -> None:
    assert set(TRANSITIONS) == set(PlatformState)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (PlatformState.STOPPED, PlatformState.RUNNING),
        (PlatformState.RUNNING, PlatformState.STOPPED),
        (PlatformState.RUNNING, PlatformState.FAILED),
    ],
)
def test_illegal_moves_raise(a: PlatformState, b: PlatformState) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(a, b)
    with pytest.raises(IllegalTransition):
        PlatformStatus(state=a).moved_to(b, 0.0)


def test_event_round_trip_and_malformed_entries() -> None:
    e = Event(
        EventKind.STEP_FINISHED, JobId("j1"), 12.5, "done", "register", {"ok": True, "seconds": 1.5}
    )
    assert Event.from_fields(e.to_fields()) == e
    for bad in (
        {},
        {"event": "{"},
        {"event": '{"kind": "nope", "job_id": "j", "at": 1}'},
        {"event": '{"kind": "notice"}'},
    ):
        with pytest.raises(ValueError):
            Event.from_fields(bad)


def ev(kind: EventKind, message: str = "", step: str | None = None, **data: object) -> Event:
    return Event(kind, JobId("j1"), 0.0, message, step, dict(data))


def test_view_folds_a_start_into_one_message() -> None:
    view = ProgressView()
    for e in [
        ev(EventKind.ACCEPTED, "Starting requested by alice."),
        ev(EventKind.STEP_STARTED, "x", "load-balancer", label="Network Load Balancer"),
        ev(EventKind.WAITING, "Waiting for it: NLB provisioning", "load-balancer", seconds=3),
        ev(
            EventKind.STEP_FINISHED,
            "x",
            "load-balancer",
            label="Network Load Balancer",
            ok=True,
            seconds=2.5,
        ),
        ev(EventKind.URL_READY, "ready", url="https://meet.example.com/x"),
        ev(EventKind.COST, "Running costs $0.235 per hour"),
        ev(EventKind.FINISHED, "Platform running", ok=True, aws_calls=42, seconds=150.0),
    ]:
        view.apply(e)
    text = view.text()
    assert text.splitlines()[0] == "Starting requested by alice."
    assert "✓ Network Load Balancer (2.5 s)" in text
    assert "Join: https://meet.example.com/x" in text
    assert "42 AWS calls" in text and view.ok is True and view.finished


def test_view_shows_failure_and_waiting_note() -> None:
    view = ProgressView()
    view.apply(ev(EventKind.STEP_STARTED, "x", "healthy", label="Targets healthy"))
    view.apply(ev(EventKind.WAITING, "Waiting: NLB provisioning", "healthy"))
    assert "… Targets healthy — Waiting: NLB provisioning" in view.text()
    view.apply(
        ev(EventKind.STEP_FINISHED, "boom", "healthy", label="Targets healthy", ok=False, seconds=1)
    )
    view.apply(ev(EventKind.ERROR, "Targets stayed unhealthy"))
    view.apply(ev(EventKind.FINISHED, "Start failed", ok=False))
    assert "✗ Targets healthy" in view.text() and "Error: Targets stayed unhealthy" in view.text()
    assert view.ok is False
    assert "FAILED" in event_line(
        ev(EventKind.STEP_FINISHED, "boom", "healthy", ok=False, seconds=1)
    )
