"""The rollout engine through its services and API, at the edges of its clocks."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.models import AuditEvent
from tests.db import statements
from wedges.models import RolloutWedge, WedgeStage
from wedges.services import rollout, wedges_tick

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


@pytest.fixture
def dave(token_client):
    return token_client("dave")


@pytest.fixture
def proposal(submit):
    # 5 % implicit hold, then 10 -> 50 -> 90; window 1 h, stage durations 1 h.
    return submit("alice")


def at(moment):
    return time_machine.travel(moment, tick=False)


def start(client, proposal, moment=T0):
    with at(moment):
        response = client.post(
            f"/api/v1/proposals/{proposal.pk}/start/", {"reason": "go"}, format="json"
        )
    assert response.status_code == 200, response.json()
    return response.json()


def report(client, proposal, metrics, moment):
    with at(moment):
        return client.post(
            f"/api/v1/proposals/{proposal.pk}/metrics/", {"metrics": metrics}, format="json"
        )


def wedge(proposal):
    return RolloutWedge.objects.get(proposal=proposal)


def codes(proposal):
    return list(
        AuditEvent.objects.filter(proposal_id=proposal.pk)
        .order_by("id")
        .values_list("code", flat=True)
    )


def test_start_opens_the_implicit_initial_hold(dave, proposal):
    body = start(dave, proposal)
    assert body["rollout_wedge"]["wedge_state"] == "ACTIVE"
    assert body["rollout_wedge"]["current_stage_id"] == "initial"
    assert body["rollout_wedge"]["exposure_percentage"] == 5
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="WDG-102")
    assert event.actor.username == "dave"
    assert event.stage_id == "initial"
    assert float(event.target_percentage) == 5


def test_start_at_the_first_target_skips_the_hold(dave, submit):
    proposal = submit("alice", rollout_wedge={"initial_percentage": 10})
    body = start(dave, proposal)
    assert body["rollout_wedge"]["current_stage_id"] == "canary"
    assert body["rollout_wedge"]["exposure_percentage"] == 10


def test_no_advance_one_second_before_the_window(dave, proposal):
    start(dave, proposal)
    response = report(dave, proposal, HEALTHY, T0 + timedelta(hours=1) - timedelta(seconds=1))
    assert response.status_code == 200
    body = response.json()
    assert body["acted"] is False
    assert body["decision"]["rule"] == "INV-RWG-OBSERVE"
    assert body["stage_id"] == "initial"
    with at(T0 + timedelta(hours=1) - timedelta(seconds=1)):
        assert wedges_tick().actions == {}
    assert wedge(proposal).current_stage_index == -1


def test_advance_exactly_at_the_window_when_criteria_hold(dave, proposal):
    start(dave, proposal)
    body = report(dave, proposal, HEALTHY, T0 + timedelta(hours=1)).json()
    assert body["acted"] is True
    assert body["stage_id"] == "canary"
    assert body["exposure_percentage"] == 10
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-001")
    assert event.stage_id == "canary"
    assert float(event.target_percentage) == 10
    assert event.metrics == HEALTHY
    assert event.actor is None


def test_the_metrics_answer_in_full(dave, proposal):
    start(dave, proposal)
    response = report(dave, proposal, HEALTHY, T0 + timedelta(minutes=10))
    assert response.status_code == 200
    assert response.json() == {
        "wedge_state": "ACTIVE",
        "stage_id": "initial",
        "exposure_percentage": 5.0,
        "max_blast_radius": 90.0,
        "acted": False,
        "decision": {
            "action": "none",
            "rule": "INV-RWG-OBSERVE",
            "reason": "the observation window of 1 h runs until 2026-11-02 10:00:00 UTC",
            "eligible": False,
            "eligible_at": "2026-11-02T10:00:00Z",
            "criteria": [
                {"expression": "error_rate < 0.01", "met": True, "values": {"error_rate": 0.001}},
                {"expression": "p99 <= 200ms", "met": True, "values": {"p99": "150ms"}},
            ],
        },
    }


@pytest.mark.parametrize(
    ("metrics", "after", "action"),
    [
        (HEALTHY, timedelta(minutes=10), "none"),  # eligible_at set, criteria met
        ({"p99": "150ms"}, timedelta(minutes=10), "none"),  # a criterion without its metric
        (HEALTHY, timedelta(hours=1), "advance"),
        (BREACH, timedelta(minutes=10), "rollback"),
    ],
)
def test_the_metrics_answer_is_what_its_declared_serializer_gives(
    demo, dave, proposal, metrics, after, action
):
    from wedges.api import desired_state_body, snapshot_outcome_body
    from wedges.serializers import SnapshotOutcomeSerializer

    start(dave, proposal)
    outcome = rollout.wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=metrics, actor=demo["dave"], now=T0 + after
    )
    assert outcome.decision.action.value == action
    declared = SnapshotOutcomeSerializer(
        {**desired_state_body(outcome.wedge), "acted": outcome.acted, "decision": outcome.decision}
    ).data
    assert snapshot_outcome_body(outcome.wedge, outcome.decision, acted=outcome.acted) == declared


def test_tick_advances_on_the_window_with_a_fresh_snapshot(dave, proposal):
    start(dave, proposal)
    report(dave, proposal, HEALTHY, T0 + timedelta(minutes=50))
    with at(T0 + timedelta(hours=1)):
        assert wedges_tick().actions == {"advance": 1}
    assert wedge(proposal).current_stage_index == 0


def due_to_advance(dave, proposals):
    """Each proposal started at T0 with a healthy snapshot: due to advance at T0 + 1 h."""
    for proposal in proposals:
        start(dave, proposal)
        report(dave, proposal, HEALTHY, T0 + timedelta(minutes=50))


def test_a_wedge_the_engine_cannot_read_does_not_hold_up_the_tick(dave, submit, caplog):
    broken, healthy = submit("alice"), submit("alice")
    due_to_advance(dave, [broken, healthy])
    # A stored plan no engine can run (written past validation): it raises every time.
    WedgeStage.objects.filter(wedge__proposal=broken, position=0).update(
        rollback_trigger="error_rate >"
    )
    with at(T0 + timedelta(hours=1)):
        tick = wedges_tick()
    assert (tick.examined, tick.actions, tick.failed) == (2, {"advance": 1}, [broken.pk])
    assert (wedge(broken).current_stage_index, wedge(healthy).current_stage_index) == (-1, 0)
    with at(T0 + timedelta(hours=1, minutes=1)):  # it keeps failing, tick after tick
        tick = wedges_tick()
    assert (tick.examined, tick.actions, tick.failed) == (1, {}, [broken.pk])
    failures = [r for r in caplog.records if r.name == "wedges.services.rollout"]
    assert [r.levelname for r in failures] == ["ERROR", "ERROR"]
    assert f"proposal {broken.pk}" in failures[0].getMessage()


def test_a_wedge_whose_move_fails_is_rolled_back_alone(dave, submit, monkeypatch):
    first, failing, last = submit("alice"), submit("alice"), submit("alice")
    due_to_advance(dave, [first, failing, last])
    real = rollout.record_event

    def record_event(**kwargs):
        if kwargs["proposal_id"] == failing.pk:
            raise RuntimeError("audit store unavailable")
        return real(**kwargs)

    monkeypatch.setattr(rollout, "record_event", record_event)
    with at(T0 + timedelta(hours=1)):
        tick = wedges_tick()
    assert (tick.actions, tick.failed) == ({"advance": 2}, [failing.pk])
    # Its advance was saved before the audit write failed: undone with it.
    assert [wedge(p).current_stage_index for p in (first, failing, last)] == [0, -1, 0]
    assert codes(failing)[-1] == "WDG-102"


def test_stale_snapshot_is_ignored(dave, proposal, settings):
    settings.WEDGE_SNAPSHOT_FRESHNESS_SECONDS = 600
    start(dave, proposal)
    report(dave, proposal, HEALTHY, T0 + timedelta(minutes=49, seconds=59))
    with at(T0 + timedelta(hours=1)):  # the snapshot is 10 min 1 s old
        report_ = wedges_tick()
    assert report_.actions == {}
    assert wedge(proposal).current_stage_index == -1
    # exactly at the freshness bound it still counts
    report(dave, proposal, HEALTHY, T0 + timedelta(minutes=50))
    with at(T0 + timedelta(hours=1)):
        assert wedges_tick().actions == {"advance": 1}


def test_snapshot_from_before_the_stage_does_not_count(dave, proposal):
    start(dave, proposal)
    report(dave, proposal, HEALTHY, T0 + timedelta(hours=1))  # advances to canary
    with at(T0 + timedelta(hours=2)):
        assert wedges_tick().actions == {}  # canary has no snapshot of its own yet
    assert wedge(proposal).current_stage_index == 0


def test_pause_at_exactly_three_windows(dave, proposal):
    start(dave, proposal)
    with at(T0 + timedelta(hours=3) - timedelta(seconds=1)):
        assert wedges_tick().actions == {}
    with at(T0 + timedelta(hours=3)):
        assert wedges_tick().actions == {"pause": 1}
    assert wedge(proposal).wedge_state == "PAUSED"
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-002")
    assert event.actor is None
    assert event.data["rule"] == "RWG-PAUSE-3X"
    with at(T0 + timedelta(hours=5)):
        assert wedges_tick().actions == {}  # paused wedges neither advance nor pause again


def test_resume_opens_a_fresh_window(dave, proposal):
    start(dave, proposal)
    with at(T0 + timedelta(hours=3)):
        wedges_tick()
    resumed_at = T0 + timedelta(hours=4)
    with at(resumed_at):
        response = dave.post(
            f"/api/v1/proposals/{proposal.pk}/resume/", {"reason": "fixed"}, format="json"
        )
    assert response.status_code == 200
    assert wedge(proposal).stage_opened_at == resumed_at
    body = report(dave, proposal, HEALTHY, resumed_at + timedelta(minutes=59)).json()
    assert body["acted"] is False
    body = report(dave, proposal, HEALTHY, resumed_at + timedelta(hours=1)).json()
    assert body["acted"] is True
    assert codes(proposal) == ["WDG-101", "WDG-102", "RWG-002", "WDG-103", "RWG-001"]


def test_breaching_snapshot_rolls_back_inside_the_request(dave, proposal):
    start(dave, proposal)
    response = report(dave, proposal, BREACH, T0 + timedelta(minutes=1))
    body = response.json()
    assert body["wedge_state"] == "ROLLED_BACK"
    assert body["exposure_percentage"] == 0
    assert body["decision"]["rule"] == "INV-RWG-ROLLBACK"
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.metrics == BREACH
    assert event.data["trigger"]["met"] is True
    desired = dave.get(f"/api/v1/proposals/{proposal.pk}/desired-state/").json()
    assert desired == {
        "wedge_state": "ROLLED_BACK",
        "stage_id": "initial",
        "exposure_percentage": 0.0,
        "max_blast_radius": 90.0,
    }


def test_a_paused_wedge_rolls_back_on_a_breaching_snapshot(dave, proposal):
    start(dave, proposal)
    with at(T0 + timedelta(minutes=1)):
        dave.post(f"/api/v1/proposals/{proposal.pk}/pause/", {"reason": "hold"}, format="json")
    body = report(dave, proposal, BREACH, T0 + timedelta(minutes=2)).json()
    assert (body["wedge_state"], body["exposure_percentage"]) == ("ROLLED_BACK", 0)
    assert body["decision"]["rule"] == "INV-RWG-ROLLBACK"
    assert codes(proposal)[-2:] == ["RWG-002", "RWG-003"]


def test_exposure_above_the_blast_radius_rolls_back(dave, proposal):
    start(dave, proposal)
    body = report(
        dave, proposal, {**HEALTHY, "exposure_percentage": 90.5}, T0 + timedelta(minutes=1)
    ).json()
    assert body["wedge_state"] == "ROLLED_BACK"
    assert body["decision"]["rule"] == "INV-RWG-BLAST"


def test_exposure_at_the_blast_radius_is_fine(dave, proposal):
    start(dave, proposal)
    body = report(
        dave, proposal, {**HEALTHY, "exposure_percentage": 90}, T0 + timedelta(minutes=1)
    ).json()
    assert body["wedge_state"] == "ACTIVE"


def test_walks_every_stage_to_completion(dave, proposal):
    start(dave, proposal)
    moment = T0
    seen = []
    for _ in range(4):
        moment += timedelta(hours=1)
        body = report(dave, proposal, HEALTHY, moment).json()
        seen.append((body["wedge_state"], body["stage_id"], body["exposure_percentage"]))
    assert seen == [
        ("ACTIVE", "canary", 10.0),
        ("ACTIVE", "half", 50.0),
        ("ACTIVE", "full", 90.0),
        ("COMPLETE", "full", 90.0),
    ]
    assert codes(proposal)[-4:] == ["RWG-001", "RWG-001", "RWG-001", "RWG-004"]


def test_manual_policy_waits_for_an_operator(dave, submit):
    proposal = submit("alice", rollout_wedge={"increment_policy": "manual"})
    start(dave, proposal)
    body = report(dave, proposal, HEALTHY, T0 + timedelta(hours=2)).json()
    assert body["acted"] is False
    assert body["decision"]["rule"] == "awaiting_approval"
    with at(T0 + timedelta(hours=2, minutes=1)):
        response = dave.post(
            f"/api/v1/proposals/{proposal.pk}/advance/", {"reason": "looks good"}, format="json"
        )
    assert response.status_code == 200
    assert response.json()["rollout_wedge"]["current_stage_id"] == "canary"
    assert codes(proposal)[-2:] == ["WDG-104", "RWG-001"]


def test_approving_an_ineligible_stage_is_refused_with_the_reason(dave, submit):
    proposal = submit("alice", rollout_wedge={"increment_policy": "manual"})
    start(dave, proposal)
    report(dave, proposal, HEALTHY, T0 + timedelta(minutes=30))
    with at(T0 + timedelta(minutes=31)):
        response = dave.post(f"/api/v1/proposals/{proposal.pk}/advance/", {}, format="json")
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["code"] == "not_eligible"
    assert "observation window" in error["message"]
    assert wedge(proposal).current_stage_index == -1
    assert codes(proposal)[-1] == "WDG-105"


def test_operator_pause_and_rollback(dave, proposal):
    start(dave, proposal)
    assert (
        dave.post(
            f"/api/v1/proposals/{proposal.pk}/pause/", {"reason": "hold"}, format="json"
        ).status_code
        == 200
    )
    assert (
        dave.post(f"/api/v1/proposals/{proposal.pk}/pause/", {}, format="json").status_code == 409
    )
    response = dave.post(
        f"/api/v1/proposals/{proposal.pk}/rollback/", {"reason": "abort"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["rollout_wedge"]["exposure_percentage"] == 0
    events = AuditEvent.objects.filter(
        proposal_id=proposal.pk, code__in=["RWG-002", "RWG-003"]
    ).order_by("id")
    assert [(e.code, e.actor.username, e.reason) for e in events] == [
        ("RWG-002", "dave", "hold"),
        ("RWG-003", "dave", "abort"),
    ]
    refused = dave.post(f"/api/v1/proposals/{proposal.pk}/resume/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "invalid_transition"


def test_every_rollback_records_its_evidence(dave, submit):
    """Operator or engine, an RWG-003 carries the exposure it caught, when the latest
    snapshot arrived and what the trigger made of it: the governance report reads
    nothing else."""
    by_operator, by_engine = submit("alice"), submit("alice")
    for proposal in (by_operator, by_engine):
        start(dave, proposal)
        report(dave, proposal, HEALTHY, T0 + timedelta(hours=1))  # advances to canary, 10 %
    report(dave, by_operator, HEALTHY, T0 + timedelta(hours=1, minutes=10))
    with at(T0 + timedelta(hours=1, minutes=20)):
        response = dave.post(
            f"/api/v1/proposals/{by_operator.pk}/rollback/", {"reason": "abort"}, format="json"
        )
    assert response.status_code == 200
    report(dave, by_engine, BREACH, T0 + timedelta(hours=1, minutes=10))

    operator = AuditEvent.objects.get(proposal_id=by_operator.pk, code="RWG-003")
    assert operator.actor.username == "dave"
    assert operator.data == {
        "operator_action": True,
        "from_state": "ACTIVE",
        "exposure_before": 10.0,
        "trigger_received_at": (T0 + timedelta(hours=1, minutes=10)).isoformat(),
        "trigger": {
            "expression": "error_rate > 0.05 or p99 > 500ms",
            "met": False,
            "values": HEALTHY,
        },
    }
    engine = AuditEvent.objects.get(proposal_id=by_engine.pk, code="RWG-003")
    assert engine.actor is None
    assert engine.data["exposure_before"] == 10.0
    assert engine.data["trigger_received_at"] == (T0 + timedelta(hours=1, minutes=10)).isoformat()
    assert engine.data["trigger"]["met"] is True


def test_an_operator_rollback_before_any_snapshot_records_the_exposure(dave, proposal):
    start(dave, proposal)
    with at(T0 + timedelta(minutes=5)):
        dave.post(f"/api/v1/proposals/{proposal.pk}/rollback/", {}, format="json")
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.data["exposure_before"] == 5.0
    assert "trigger_received_at" not in event.data
    assert event.data["trigger"] == {
        "expression": "error_rate > 0.05 or p99 > 500ms",
        "met": False,
        "values": {},
    }


def test_who_may_operate(token_client, proposal):
    url = f"/api/v1/proposals/{proposal.pk}/start/"
    for username in ("alice", "carol", "erin", "frank"):  # frank leads security
        response = token_client(username).post(url, {}, format="json")
        assert response.status_code == 403, username
    # The pipeline may not even read alice's proposal: as if it did not exist.
    assert token_client("pipeline").post(url, {}, format="json").status_code == 404
    assert token_client("bob").post(url, {}, format="json").status_code == 200  # platform lead


def test_who_may_report_metrics(token_client, dave, proposal):
    start(dave, proposal)
    url = f"/api/v1/proposals/{proposal.pk}/metrics/"
    assert token_client("alice").post(url, {"metrics": HEALTHY}, format="json").status_code == 200
    # Its own token gives the pipeline its own rights: alice's proposal is not one it reads.
    assert (
        token_client("pipeline").post(url, {"metrics": HEALTHY}, format="json").status_code == 404
    )
    assert token_client("erin").post(url, {"metrics": HEALTHY}, format="json").status_code == 403


def test_metrics_for_a_pending_wedge_are_409(dave, proposal):
    response = dave.post(
        f"/api/v1/proposals/{proposal.pk}/metrics/", {"metrics": HEALTHY}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "not_running"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "metrics", "required"),
        ({"metrics": []}, "metrics", "wrong_type"),
        ({"metrics": {}}, "metrics", "empty"),
        ({"metrics": {"p99": "fast"}}, "metrics.p99", "not_a_quantity"),
        ({"metrics": {"p99": True}}, "metrics.p99", "not_a_quantity"),
        ({"metrics": {"bad name": 1}}, "metrics.bad name", "invalid_name"),
        ({"metrics": {"a": 1}, "extra": 1}, "extra", "unknown_key"),
        (
            {"metrics": {"exposure_percentage": "95ms"}},
            "metrics.exposure_percentage",
            "not_a_percentage",
        ),
        (
            {"metrics": {"exposure_percentage": "1h", "p99": "10ms"}},
            "metrics.exposure_percentage",
            "not_a_percentage",
        ),
    ],
)
def test_bad_metrics_are_400(dave, proposal, body, field, code):
    start(dave, proposal)
    response = dave.post(f"/api/v1/proposals/{proposal.pk}/metrics/", body, format="json")
    assert response.status_code == 400
    assert {"field": field, "code": code} in [
        {"field": e["field"], "code": e["code"]} for e in response.json()["errors"]
    ]


@pytest.mark.parametrize("exposure", [5, 5.0, "5", "5%", " 5 % "])
def test_exposure_as_a_number_or_a_percentage_is_taken(dave, proposal, exposure):
    start(dave, proposal)
    response = dave.post(
        f"/api/v1/proposals/{proposal.pk}/metrics/",
        {"metrics": {**HEALTHY, "exposure_percentage": exposure}},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_desired_state_etag_and_304(dave, proposal):
    url = f"/api/v1/proposals/{proposal.pk}/desired-state/"
    first = dave.get(url)
    assert first.json() == {
        "wedge_state": "PENDING",
        "stage_id": None,
        "exposure_percentage": 0.0,
        "max_blast_radius": 90.0,
    }
    etag = first["ETag"]
    unchanged = dave.get(url, HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    start(dave, proposal)
    changed = dave.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["exposure_percentage"] == 5


def test_waiver_required_proposal_cannot_start(dave, submit):
    proposal = submit(
        "alice",
        rollout_wedge={
            "wedge_stages": [
                {
                    "stage_id": "all",
                    "target_percentage": 90,
                    "duration_hours": 1,
                    "success_criteria": ["error_rate < 0.01"],
                    "rollback_trigger": "error_rate > 0.05",
                }
            ]
        },
    )
    assert proposal.waiver_required
    response = dave.post(f"/api/v1/proposals/{proposal.pk}/start/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "waiver_required"
    assert wedge(proposal).wedge_state == "PENDING"


def test_desired_state_reads_the_open_stage_id_with_the_wedge(dave, proposal):
    """The annotated stage id is the engine's, at the implicit hold and at every stage."""
    from wedges.selectors import desired_states

    start(dave, proposal)
    seen = []
    for n in range(4):
        stored = wedge(proposal)
        annotated = desired_states().get(pk=stored.pk)
        assert annotated.current_stage_id == stored.current_stage_id
        seen.append(annotated.current_stage_id)
        moment = T0 + timedelta(hours=n + 1)
        report(dave, proposal, HEALTHY, moment)  # advances at each window's end
    assert seen == ["initial", "canary", "half", "full"]


def test_a_pushed_snapshot_reads_the_database_once_before_it_writes(
    dave, proposal, django_capture_on_commit_callbacks
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start(dave, proposal)
    with django_capture_on_commit_callbacks(execute=True):  # the plan is kept once committed
        report(dave, proposal, HEALTHY, T0 + timedelta(minutes=1))
    with CaptureQueriesContext(connection) as queries:
        assert report(dave, proposal, HEALTHY, T0 + timedelta(minutes=2)).status_code == 200
    # The token (with its owner), the owner's permissions, then the wedge under
    # its lock within what dave may read, the snapshot row, the wedge's update.
    sql = statements(queries)
    assert len(sql) == 5, sql
    assert "FOR UPDATE" in sql[2]


def test_a_refused_reporter_writes_nothing_and_a_bad_body_is_refused_first(
    token_client, proposal, dave
):
    from wedges.models import MetricSnapshot

    start(dave, proposal)
    before = MetricSnapshot.objects.count()
    erin = token_client("erin")  # a reviewer: reads every proposal, reports for none
    refused = report(erin, proposal, HEALTHY, T0 + timedelta(minutes=1))
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "permission_denied"
    assert MetricSnapshot.objects.count() == before
    # A malformed body says so without a read: also for a proposal that is not there.
    bad = {"metrics": {"error_rate": "lots"}}
    with at(T0 + timedelta(minutes=2)):
        for pk in (proposal.pk, 987654):
            answer = erin.post(f"/api/v1/proposals/{pk}/metrics/", bad, format="json")
            assert answer.status_code == 400, answer.json()
        missing = erin.post(
            "/api/v1/proposals/987654/metrics/", {"metrics": HEALTHY}, format="json"
        )
    assert missing.status_code == 404
