"""The rollout view of ``wedge status``/``watch``, and how ``watch`` rides out a flaky server."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from rich.console import Console
from wedge_cli.api import Client
from wedge_cli.errors import CliError, Exit
from wedge_cli.follow import Reading, Watch, render

PROPOSAL = {
    "id": 7,
    "title": "Connector runtime 2.5",
    "subsystem": "connector-runtime",
    "rollout_wedge": {
        "increment_policy": "linear",
        "initial_percentage": 5,
        "wedge_stages": [
            {"stage_id": "canary", "target_percentage": 10},
            {"stage_id": "half", "target_percentage": 50},
        ],
    },
}
STATUS = {
    "wedge_state": "ACTIVE",
    "stage_id": "canary",
    "stage_number": 1,
    "stage_count": 2,
    "exposure_percentage": 10.0,
    "max_blast_radius": 50.0,
    "stage_opened_at": "2026-11-02T10:00:00Z",
    "observation_window_hours": 1.0,
    "window_ends_at": "2026-11-02T11:00:00Z",
    "advance_at": "2026-11-02T12:00:00Z",
    "eligible": False,
    "awaiting_approval": False,
    "waiting_for": "the stage's planned 2.0h run until 12:00",
    "criteria": [
        {"expression": "error_rate < 0.01", "met": True, "values": {"error_rate": 0.004}},
        {"expression": "p99 <= 200ms", "met": False, "values": {}},
    ],
    "latest_snapshot": {"received_at": "2026-11-02T10:59:30Z", "metrics": {"error_rate": 0.004}},
    "as_of": "2026-11-02T11:00:00Z",
}


def test_the_live_view_on_a_terminal():
    """What a person sees: a bar per stage, the criteria with their values, the next moment."""
    console = Console(file=io.StringIO(), width=100, force_terminal=True, color_system=None)
    reading = Reading(PROPOSAL, STATUS, read_at=100.0)
    console.print(render(reading, monotonic=100.0 + 90))  # read 90 s ago
    lines = [" ".join(line.split()) for line in console.file.getvalue().splitlines()]
    assert lines[0] == "Proposal 7 · Connector runtime 2.5 · connector-runtime · linear"
    assert lines[1] == "ACTIVE · stage 1 of 2 (canary) · exposure 10 % (max 50 %)"
    assert lines[4] == "initial 5 % " + "━" * 30 + " done"
    # 61.5 of the 120 minutes until it may advance: half of the 30 cells, 59 min to go.
    assert lines[5] == "canary 10 % " + "━" * 15 + " may advance in 59 min"
    assert lines[6] == "half 50 %"
    assert "Criteria (latest snapshot 2 min ago):" in lines
    assert "✓ error_rate < 0.01 error_rate = 0.004" in lines
    assert "✗ p99 <= 200ms no value reported" in lines


def flaky_server(answers):
    """A transport answering the status calls from ``answers``: a state, or an exception."""
    calls = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/v1/proposals/7/":
            return httpx.Response(200, json=PROPOSAL)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, int):
            return httpx.Response(answer, text="upstream down")
        return httpx.Response(200, json={**STATUS, "wedge_state": answer})

    return httpx.MockTransport(handle), calls


def watch(answers, **settings):
    transport, calls = flaky_server(answers)
    client = Client("http://wedge.test", "key", transport=transport)
    out = io.StringIO()
    console = Console(file=out, width=120)
    settings.setdefault("sleep", lambda seconds: None)
    outcome = Watch(client, 7, console, interval=1, **settings).run()
    return outcome, out.getvalue(), calls


def test_watch_rides_out_a_few_failures():
    refused = httpx.ConnectError("connection refused")
    outcome, out, _ = watch(["ACTIVE", refused, 502, "ACTIVE", "COMPLETE"])
    assert outcome is Exit.OK
    assert "cannot reach http://wedge.test: connection refused; retrying" in out
    assert "the server failed (HTTP 502); retrying" in out
    assert out.splitlines()[-1].startswith("[")
    assert "COMPLETE" in out.splitlines()[-1]


def test_watch_gives_up_after_too_many_failures_in_a_row():
    refused = httpx.ConnectError("connection refused")
    with pytest.raises(CliError) as failed:
        watch(["ACTIVE", refused, refused, refused], max_failures=3)
    assert failed.value.exit_code is Exit.UNREACHABLE


def test_watch_stops_on_a_refusal_at_once():
    answers = iter([httpx.Response(200, json=PROPOSAL), httpx.Response(200, json=STATUS)])
    refusal = {"errors": [{"field": None, "code": "permission_denied", "message": "no"}]}

    def handle(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(403, json=refusal))

    client = Client("http://wedge.test", "key", transport=httpx.MockTransport(handle))
    with pytest.raises(CliError) as refused:
        Watch(client, 7, Console(file=io.StringIO()), sleep=lambda seconds: None).run()
    assert refused.value.exit_code is Exit.REFUSED
    assert "HTTP 403: no [permission_denied]" in refused.value.message


def test_a_log_shows_a_line_only_when_something_changes():
    outcome, out, calls = watch(["ACTIVE", "ACTIVE", "ACTIVE", "PAUSED"])
    assert outcome is Exit.PAUSED
    assert len(calls) == 5  # the proposal once, then four looks
    assert [line.split("] ", 1)[1].split(" · ")[0] for line in out.splitlines()] == [
        "ACTIVE",
        "PAUSED",
    ]


def test_the_json_error_shape_is_read_whatever_else_comes():
    from wedge_cli.api import _errors

    assert _errors({"errors": [{"field": "a", "code": "c", "message": "m"}, "junk"]})[0].line() == (
        "a: m [c]"
    )
    assert _errors({"detail": "x"}) == []
    assert _errors(json.loads("[1]")) == []


def test_watch_takes_a_last_look_at_its_deadline_then_gives_up():
    outcome, out, calls = watch(["ACTIVE", "ACTIVE"], timeout=0.05, sleep=time.sleep)
    assert outcome is Exit.TIMED_OUT
    assert len(calls) == 3  # the proposal, the first look, one more at the deadline
    assert out.splitlines()[-1] == "still ACTIVE after 0.05 s; giving up"
