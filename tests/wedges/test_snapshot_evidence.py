"""Snapshots from several sources combine into one evidence, on the one snapshot service."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from tests.db import statements
from wedges.models import MetricSnapshot, RolloutWedge
from wedges.services import (
    wedge_hold,
    wedge_record_snapshot,
    wedge_rollback_on_alert,
    wedge_start,
    wedges_tick,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
SOURCE = {"provider": "prometheus", "query": 'sum(rate(errors{proposal="7"}[1m]))'}


@pytest.fixture
def running(submit, demo):
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    return proposal


def wedge(proposal):
    return RolloutWedge.objects.select_related("latest_snapshot").get(proposal=proposal)


def polled(proposal, metrics, moment):
    sources = {name: SOURCE for name in metrics}
    return wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=metrics, actor=None, now=moment, sources=sources
    )


def test_a_push_adds_to_polled_values_instead_of_hiding_them(running, demo):
    polled(running, {"error_rate": 0.001, "p99": "150ms"}, T0 + SECOND)
    wedge_record_snapshot(
        proposal_id=running.pk,
        metrics={"exposure_percentage": 5},
        actor=demo["alice"],
        now=T0 + 2 * SECOND,
    )
    latest = wedge(running).latest_snapshot
    assert latest.values == {"exposure_percentage": 5}  # what this snapshot brought
    assert latest.evidence == {
        "error_rate": {"value": 0.001, "received_at": (T0 + SECOND).isoformat(), **SOURCE},
        "p99": {"value": "150ms", "received_at": (T0 + SECOND).isoformat(), **SOURCE},
        "exposure_percentage": {"value": 5, "received_at": (T0 + 2 * SECOND).isoformat()},
    }


def test_the_wedge_advances_on_combined_evidence(running, demo):
    polled(running, {"error_rate": 0.001}, T0 + timedelta(minutes=59))
    wedge_record_snapshot(
        proposal_id=running.pk,
        metrics={"p99": "150ms"},
        actor=demo["alice"],
        now=T0 + timedelta(minutes=59, seconds=30),
    )
    wedges_tick(now=T0 + timedelta(hours=1))
    assert wedge(running).current_stage_id == "canary"


def test_a_polled_breach_rolls_back_with_its_query_in_the_audit_event(running):
    outcome = polled(running, {"error_rate": 0.2}, T0 + SECOND)
    assert outcome.wedge.wedge_state == "ROLLED_BACK"
    event = AuditEvent.objects.get(proposal_id=running.pk, code="RWG-003")
    assert event.metrics == {"error_rate": {"value": 0.2, **SOURCE}}
    assert event.actor is None
    assert event.data["trigger_received_at"] == (T0 + SECOND).isoformat()
    assert MetricSnapshot.objects.get(wedge__proposal=running).reported_by is None


def test_a_push_after_a_poll_keeps_the_breach_in_view(running, demo):
    """The push that carries only exposure_percentage is evaluated with the polled values."""
    polled(running, {"error_rate": 0.04}, T0 + SECOND)
    wedge_record_snapshot(
        proposal_id=running.pk,
        metrics={"exposure_percentage": 5, "p99": "600ms"},
        actor=demo["alice"],
        now=T0 + 2 * SECOND,
    )
    event = AuditEvent.objects.get(proposal_id=running.pk, code="RWG-003")
    assert event.metrics == {
        "error_rate": {"value": 0.04, **SOURCE},
        "exposure_percentage": 5,
        "p99": "600ms",
    }


def test_evidence_starts_afresh_in_each_stage(running, demo):
    wedge_record_snapshot(
        proposal_id=running.pk,
        metrics={"error_rate": 0.001, "p99": "150ms"},
        actor=demo["alice"],
        now=T0 + timedelta(minutes=59),
    )
    wedges_tick(now=T0 + timedelta(hours=1))  # advanced to canary
    polled(running, {"exposure_percentage": 10}, T0 + timedelta(hours=1, seconds=1))
    assert set(wedge(running).latest_snapshot.evidence) == {"exposure_percentage"}


def test_a_snapshot_costs_no_more_queries_with_evidence(running, demo):
    for n in range(3):
        polled(running, {"error_rate": 0.001, f"m{n}": n}, T0 + (n + 1) * SECOND)
    with CaptureQueriesContext(connection) as queries:
        wedge_record_snapshot(
            proposal_id=running.pk,
            metrics={"exposure_percentage": 5},
            actor=demo["alice"],
            now=T0 + 10 * SECOND,
        )
    # Lock (with the latest snapshot joined), stages, insert, update: the evidence
    # so far comes with the lock's join. The stages are read because no
    # transaction here commits (see the next test).
    sql = statements(queries)
    assert len(sql) == 4, sql


def test_once_a_plan_was_read_and_committed_a_snapshot_is_threestatements(
    running, demo, django_capture_on_commit_callbacks
):
    report = {"exposure_percentage": 5}
    with django_capture_on_commit_callbacks(execute=True):
        wedge_record_snapshot(
            proposal_id=running.pk, metrics=report, actor=demo["alice"], now=T0 + SECOND
        )
    with CaptureQueriesContext(connection) as queries:
        outcome = wedge_record_snapshot(
            proposal_id=running.pk, metrics=report, actor=demo["alice"], now=T0 + 2 * SECOND
        )
    # Lock, insert, update: the plan is the one this process kept.
    assert len(statements(queries)) == 3, statements(queries)
    assert not any("wedges_wedgestage" in sql for sql in statements(queries))
    assert [stage.stage_id for stage in outcome.wedge.policy_view().stages] == [
        stage.stage_id for stage in running.rollout_wedge.stages.order_by("position")
    ]


def test_a_plan_read_in_a_transaction_that_rolls_back_is_not_kept(running, demo):
    from django.db import transaction

    from wedges.models import stage_plan

    wedge = running.rollout_wedge

    class Abandoned(Exception):
        pass

    def read_then_abandon():
        with transaction.atomic():
            assert stage_plan(wedge.pk, wedge.document)
            raise Abandoned

    with pytest.raises(Abandoned):
        read_then_abandon()
    with CaptureQueriesContext(connection) as queries:
        assert stage_plan(wedge.pk, wedge.document)
    assert len(queries) == 1  # read again: nothing was kept


def test_a_kept_plan_serves_only_the_document_it_was_read_for(
    running, django_capture_on_commit_callbacks
):
    # An id can name another wedge later (a restored database, a test
    # database); its plan is then read, never taken from the one kept.
    from wedges.models import stage_plan

    wedge = running.rollout_wedge
    with django_capture_on_commit_callbacks(execute=True):
        kept = stage_plan(wedge.pk, wedge.document)
    with CaptureQueriesContext(connection) as queries:
        assert stage_plan(wedge.pk, wedge.document) == kept
    assert len(queries) == 0
    other = {**wedge.document, "wedge_stages": wedge.document["wedge_stages"][:1]}
    with CaptureQueriesContext(connection) as queries:
        stage_plan(wedge.pk, other)
    assert len(queries) == 1


def test_a_system_hold_pauses_only_an_active_wedge(running):
    assert wedge_hold(
        proposal_id=running.pk,
        reason="prometheus: connection refused, 3 times in a row",
        data={"provider": "prometheus"},
        now=T0 + SECOND,
    )
    event = AuditEvent.objects.get(proposal_id=running.pk, code="RWG-002")
    assert event.actor is None
    assert event.actor_label == "system"
    assert event.data == {"rule": "system_hold", "provider": "prometheus"}
    assert wedge(running).wedge_state == "PAUSED"
    assert not wedge_hold(proposal_id=running.pk, reason="again", now=T0 + 2 * SECOND)
    assert AuditEvent.objects.filter(proposal_id=running.pk, code="RWG-002").count() == 1


def test_an_alert_rolls_back_with_the_alert_as_its_snapshot(running, demo):
    alert = {"labels": {"alertname": "HighErrors", "wedge_proposal": str(running.pk)}}
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert wedge_rollback_on_alert(
            proposal_id=running.pk, actor=demo["pipeline"], reason="HighErrors", alert=alert
        )
    event = AuditEvent.objects.get(proposal_id=running.pk, code="RWG-003")
    assert event.metrics == {"alert": alert}
    assert event.actor == demo["pipeline"]
    assert event.data["rule"] == "external_alert"
    assert event.data["exposure_before"] == 5
    assert event.data["trigger_received_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert not wedge_rollback_on_alert(
        proposal_id=running.pk, actor=demo["pipeline"], reason="again", alert=alert
    )
