"""``wedge plan``: the earliest timeline by the engine's rules, the dry run's total, the ladder."""

from __future__ import annotations

import copy

import pytest

from tests.documents import PROPOSAL
from wedges.policy import ValidationContext, validate

from .conftest import run


def proposal(policy="linear", initial=5, durations=(1, 2, 0.5), window=1):
    body = copy.deepcopy(PROPOSAL)
    wedge = body["rollout_wedge"]
    wedge.update(
        increment_policy=policy, initial_percentage=initial, observation_window_hours=window
    )
    for stage, duration in zip(wedge["wedge_stages"], durations, strict=True):
        stage["duration_hours"] = duration
    return body


def plan_json(path, *args):
    result = run("plan", path, "--format", "json", *args)
    assert result.code == 0, result.err
    return result.json()


def rows(plan):
    return [
        (
            s["stage_id"],
            s["exposure_percentage"],
            s["earliest_start_hours"],
            s["earliest_end_hours"],
        )
        for s in plan["stages"]
    ]


def test_an_automatic_wedge_advances_at_the_later_of_window_and_duration(write):
    plan = plan_json(write("p.yaml", proposal()))
    # 5 % hold gated by canary (1 h), canary 1 h, half 2 h, full: window 1 h > 0.5 h.
    assert rows(plan) == [
        ("initial", 5.0, 0.0, 1.0),
        ("canary", 10.0, 1.0, 2.0),
        ("half", 50.0, 2.0, 4.0),
        ("full", 90.0, 4.0, 5.0),
    ]
    assert plan["earliest_completion_hours"] == 5.0
    assert plan["stages"][0]["implicit"] is True


def test_the_planned_total_is_the_dry_runs(write):
    body = proposal(durations=(3, 2.5, 0.5), window=2)
    plan = plan_json(write("p.json", body))
    report = validate(body["rollout_wedge"], ValidationContext())
    assert plan["planned_total_hours"] == report.total_duration_hours == 3 + 2.5 + 0.5 + 2 * 3


def test_a_manual_wedge_waits_for_the_window_then_an_operator(write):
    plan = plan_json(write("p.yaml", proposal(policy="manual", durations=(4, 4, 4))))
    assert [(s["earliest_start_hours"], s["earliest_end_hours"]) for s in plan["stages"]] == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
    ]


def test_no_implicit_hold_when_the_initial_exposure_is_stage_1s(write):
    plan = plan_json(write("p.yaml", proposal(initial=10)))
    assert [s["stage_id"] for s in plan["stages"]] == ["canary", "half", "full"]


def test_a_start_time_gives_times(write):
    plan = plan_json(write("p.yaml", proposal()), "--start", "2026-12-01T09:00:00+01:00")
    assert plan["start"] == "2026-12-01T09:00:00+01:00"
    assert plan["stages"][-1]["earliest_end"] == "2026-12-01T14:00:00+01:00"
    naive = plan_json(write("p.yaml", proposal()), "--start", "2026-12-01T09:00:00")
    assert naive["stages"][0]["earliest_start"] == "2026-12-01T09:00:00+00:00"


def squeeze(line):
    return " ".join(line.split())


def test_the_text_view(write):
    result = run("plan", write("p.yaml", proposal()), "--start", "2026-12-01T09:00:00+00:00")
    assert result.code == 0
    lines = [line.rstrip() for line in result.out.splitlines()]
    assert lines[0] == (
        "Plan: Roll out connector runtime 2.4 — linear, observation window 1 h, "
        "max blast radius 90 %"
    )
    assert squeeze(lines[3]) == (
        "0 initial 5 % 2026-12-01 09:00 UTC 2026-12-01 10:00 UTC implicit hold, gated by stage 1"
    )
    assert squeeze(lines[6]) == "3 full 90 % 2026-12-01 13:00 UTC 2026-12-01 14:00 UTC"
    ladder = lines[lines.index("Exposure ladder (| marks the max blast radius, 90 %)") + 1 :][:5]
    bar_start = ladder[0].index("█")
    assert ladder[0][bar_start:] == "██▌" + " " * 42 + "|"  # 5 % of 50 cells, marker at 90 %
    assert ladder[2][bar_start:] == "█" * 25 + " " * 20 + "|"
    assert ladder[3][bar_start:] == "█" * 45 + "|"
    assert ladder[4][bar_start:].split() == ["0", "50", "100"]
    assert ladder[4][bar_start] == "0"
    assert ladder[4][bar_start + 49 : bar_start + 52] == "100"
    assert lines[-2] == (
        "Earliest completion: 2026-12-01 14:00 UTC (5 h after start), if every stage meets "
        "its criteria as soon as it may advance."
    )
    assert lines[-1] == (
        "Planned total duration: 6.5 h (stage durations 3.5 h + observation window 1 h x 3 "
        "stages, as the server's dry run counts it)."
    )


def test_an_invalid_wedge_gives_its_errors_and_exit_1(write):
    body = proposal()
    body["rollout_wedge"]["wedge_stages"][1]["duration_hours"] = -1
    result = run("plan", write("p.yaml", body))
    assert result.code == 1
    assert result.out == ""
    assert "[duration_not_positive]" in result.err


def test_a_wedge_that_needs_a_waiver_is_planned_but_exits_1(write):
    body = proposal()
    body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 30
    result = run("plan", write("p.yaml", body))
    assert result.code == 1
    assert "[first_stage_too_large]" in result.err
    assert "a waiver could lift every one of them" in result.err
    assert "Planned total duration: 6.5 h" in result.out


@pytest.mark.parametrize("start", ["tomorrow", "2026-13-01T00:00:00"])
def test_a_bad_start_is_a_usage_error(write, start):
    result = run("plan", write("p.yaml", proposal()), "--start", start)
    assert result.code == 2
    assert "--start" in result.err
