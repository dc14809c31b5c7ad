"""Plans with hours no calendar holds: refused on submission, harmless when already stored.

A stage's ``duration_hours`` and the ``observation_window_hours`` are at most a
year (``WEDGE_MAX_STAGE_HOURS`` may say less). Rows stored before that bound, or
written past validation, must still never break a page other people use, nor
``start`` or the beat tick: a date past the calendar's end means "never".
"""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings

from wedges.metrics import validate_metrics
from wedges.models import ChangeProposal, RolloutWedge, WedgeStage
from wedges.services import wedge_record_snapshot, wedges_tick

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
# 1e8 hours is past year 9999; 1e308 hours does not even fit a timedelta.
PAST_THE_CALENDAR = [1e8, 1e308]
A_YEAR = 8760


def at(moment):
    return time_machine.travel(moment, tick=False)


def field_errors(response) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


# --- Submission ---------------------------------------------------------------------------


# As JSON text, with whether it is a number at all: beyond float range it is not.
EXTREME_HOURS = [
    pytest.param("8760.001", True, id="a year and 4 seconds"),
    pytest.param("1e8", True, id="1e8"),
    pytest.param("1e308", True, id="1e308"),
    pytest.param("9223372036854775808", True, id="2**63"),
    pytest.param("9" * 400, False, id="400 digits"),
]


@pytest.mark.parametrize(("hours", "finite"), EXTREME_HOURS)
@pytest.mark.parametrize(
    ("where", "field", "code"),
    [
        ("stage", "rollout_wedge.wedge_stages[0].duration_hours", "duration_too_long"),
        ("window", "rollout_wedge.observation_window_hours", "observation_window_too_long"),
    ],
)
def test_hours_beyond_a_year_are_refused_by_dry_run_and_submit_alike(
    token_client, proposal_body, hours, finite, where, field, code
):
    client = token_client("alice")
    wedge = proposal_body["rollout_wedge"]
    if where == "stage":
        wedge["wedge_stages"][0]["duration_hours"] = 4242
    else:
        wedge["observation_window_hours"] = 4242
    text = json.dumps(proposal_body).replace("4242", hours)
    expected = (field, code if finite else "not_finite")
    dry_run = client.post(f"{URL}validate/", text, content_type="application/json")
    assert dry_run.status_code == 200
    assert dry_run.json()["valid"] is False
    assert expected in {(e["field"], e["code"]) for e in dry_run.json()["errors"]}
    submitted = client.post(URL, text, content_type="application/json")
    assert submitted.status_code == 400
    assert expected in field_errors(submitted)
    assert not ChangeProposal.objects.exists()


def test_exactly_a_year_is_accepted(token_client, proposal_body):
    wedge = proposal_body["rollout_wedge"]
    wedge["observation_window_hours"] = A_YEAR
    for stage in wedge["wedge_stages"]:
        stage["duration_hours"] = A_YEAR
    response = token_client("alice").post(URL, proposal_body, format="json")
    assert response.status_code == 201, response.json()


def test_a_deployment_may_lower_the_bound(token_client, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"][1]["duration_hours"] = 24.5
    with override_settings(WEDGE_MAX_STAGE_HOURS=24):
        response = token_client("alice").post(URL, proposal_body, format="json")
    assert response.status_code == 400
    assert field_errors(response) == {
        ("rollout_wedge.wedge_stages[1].duration_hours", "duration_too_long")
    }


# --- Rows already stored ------------------------------------------------------------------


def store_past_validation(proposal, *, window=None, duration=None):
    """Write plan values straight into the rows, as no service would."""
    if window is not None:
        RolloutWedge.objects.filter(proposal=proposal).update(observation_window_hours=window)
    if duration is not None:
        WedgeStage.objects.filter(wedge__proposal=proposal).update(duration_hours=duration)


def start(client, proposal, moment=T0):
    with at(moment):
        return client.post(f"{URL}{proposal.pk}/start/", {"reason": "go"}, format="json")


def assert_pages_render(client, demo, proposal, moment):
    """Every page that shows the wedge: the dashboard, its page, the live part, its chart."""
    with at(moment):
        client.force_login(demo["carol"])  # someone else entirely
        assert client.get("/").status_code == 200
        assert client.get("/", HTTP_HX_REQUEST="true").status_code == 200
        assert client.get(f"/proposals/{proposal.pk}/").status_code == 200
        live = client.get(f"/proposals/{proposal.pk}/live/?state=ACTIVE")
        assert client.get(f"{URL}{proposal.pk}/").status_code == 200
    assert live.status_code == 200
    chart = live.content.decode().split('id="chart-data" type="application/json">')[1]
    json.loads(chart.split("</script>")[0])


@pytest.mark.parametrize("hours", PAST_THE_CALENDAR)
def test_a_stored_window_past_the_calendar_starts_and_never_ends(
    client, demo, token_client, submit, hours
):
    proposal = submit("alice")
    store_past_validation(proposal, window=hours)
    response = start(token_client("dave"), proposal)
    assert response.status_code == 200, response.content
    wedge = RolloutWedge.objects.get(proposal=proposal)
    assert wedge.wedge_state == "ACTIVE"
    assert wedge.window_ends_at is None  # never: the tick never picks it up
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": HEALTHY}),
        actor=demo["alice"],
        now=T0 + timedelta(minutes=5),
    )
    assert_pages_render(client, demo, proposal, T0 + timedelta(hours=2))
    far = T0 + timedelta(days=3650)
    assert wedges_tick(now=far).actions == {}
    assert_pages_render(client, demo, proposal, far)


@pytest.mark.parametrize("hours", PAST_THE_CALENDAR)
def test_a_stored_duration_past_the_calendar_never_elapses(
    client, demo, token_client, submit, hours
):
    proposal = submit("alice")
    store_past_validation(proposal, duration=hours)
    assert start(token_client("dave"), proposal).status_code == 200
    wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=validate_metrics({"metrics": HEALTHY}),
        actor=demo["alice"],
        now=T0 + timedelta(minutes=5),
    )
    # The criteria are met: the snapshot stored when the wedge is next due, a
    # moment before the duration that never ends, so the tick has nothing to read.
    stored = RolloutWedge.objects.get(proposal=proposal)
    assert stored.due_snapshot_id == stored.latest_snapshot_id
    later = T0 + timedelta(hours=1, minutes=1)
    report = wedges_tick(now=later)
    assert report.actions == {}
    assert RolloutWedge.objects.get(proposal=proposal).current_stage_index == -1
    assert_pages_render(client, demo, proposal, later)


def test_an_active_wedge_whose_window_was_rewritten_is_read_by_the_tick(
    client, demo, token_client, submit
):
    """A due wedge (its stored window end has passed) whose window no longer fits."""
    proposal = submit("alice")
    assert start(token_client("dave"), proposal).status_code == 200
    store_past_validation(proposal, window=1e308, duration=1e308)
    later = T0 + timedelta(hours=5)
    report = wedges_tick(now=later)
    assert report.examined == 1
    assert report.actions == {}
    assert_pages_render(client, demo, proposal, later)
