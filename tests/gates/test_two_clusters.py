"""One rollout across clusters: it advances only while every canary is healthy, and a
failure anywhere rolls it back everywhere (fluxcd/flagger#250, argoproj/argo-rollouts#2737)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from audit.models import AuditEvent
from gates.models import CanaryBinding
from tests.gates.conftest import HEALTHY, T0, WINDOW, snapshot, start, wedge
from wedges.services import rollout, wedges_tick

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_clusters(demo, canary_proposal, flagger):
    proposal = canary_proposal()
    start(demo, proposal)
    east, west = flagger("us-east-1"), flagger("eu-west-1")
    for canary in (east, west):
        assert canary.call("confirm-rollout", T0).status_code == 200
        assert canary.call("confirm-traffic-increase", T0).status_code == 200
    return proposal, east, west


def test_both_canaries_are_bound_and_audited(two_clusters):
    proposal, _, _ = two_clusters
    bound = AuditEvent.objects.filter(proposal_id=proposal.pk, code="WDG-701")
    assert sorted(event.data["cluster"] for event in bound) == ["eu-west-1", "us-east-1"]
    assert {event.data["canary"] for event in bound} == {"test/podinfo"}
    assert all(event.actor.username == "pipeline" for event in bound)
    assert CanaryBinding.objects.filter(proposal=proposal).count() == 2


def test_one_canary_fails_both_gates_then_say_roll_back(demo, two_clusters):
    proposal, east, west = two_clusters
    failing_at = T0 + timedelta(minutes=20)
    # Flagger in us-east-1 rolls its canary back and says so.
    report = east.event(
        failing_at, "Canary failed! Scaling down podinfo.test", event_type="Warning", phase="Failed"
    )
    assert report.status_code == 200, report.json()
    assert report.json() == {
        "recorded": True,
        "failed": True,
        "rolled_back": True,
        "wedge_state": "ROLLED_BACK",
        "proposal_id": proposal.pk,
    }
    assert wedge(proposal).wedge_state == "ROLLED_BACK"
    assert wedge(proposal).exposure_percentage == 0
    # On their next check both clusters' rollback gates say roll back.
    for canary in (east, west):
        gate = canary.call("rollback", failing_at + timedelta(minutes=1))
        assert gate.status_code == 200
        assert gate.json()["decision"] == "rejected"
        assert "us-east-1" in gate.json()["reason"]
    # The audit trail shows which cluster failed: its report, then the rollback it caused.
    failed = AuditEvent.objects.get(proposal_id=proposal.pk, code="WDG-703")
    assert failed.data["cluster"] == "us-east-1"
    assert failed.data["canary"] == "test/podinfo"
    assert failed.data["phase"] == "Failed"
    assert failed.actor.username == "pipeline"
    rolled_back = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert rolled_back.id > failed.id
    assert rolled_back.actor is None  # automatic: the governance report times it
    assert rolled_back.data["rule"] == "canary_failed"
    assert rolled_back.data["cluster"] == "us-east-1"
    assert rolled_back.data["canary"] == "test/podinfo"
    assert rolled_back.data["reported_by"] == "pipeline"
    assert rolled_back.data["trigger_received_at"] == failing_at.isoformat()
    assert rolled_back.data["exposure_before"] == 5
    assert "us-east-1" in rolled_back.reason
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="WDG-702")
    assert event.data["message"] == "Canary failed! Scaling down podinfo.test"
    assert event.data["event_type"] == "Warning"


def test_the_second_clusters_failure_after_the_rollback_rolls_nothing_back_again(
    demo, two_clusters
):
    proposal, east, west = two_clusters
    east.event(T0 + timedelta(minutes=20), "Canary failed!", event_type="Warning", phase="Failed")
    later = west.event(
        T0 + timedelta(minutes=22), "Canary failed!", event_type="Warning", phase="Failed"
    )
    assert later.json()["failed"] is True
    assert later.json()["rolled_back"] is False
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").count() == 1
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="WDG-703").count() == 2


def test_post_rollout_failed_rolls_back_too(demo, two_clusters):
    proposal, _, west = two_clusters
    response = west.call("post-rollout", T0 + timedelta(minutes=30), phase="Failed")
    assert response.json()["rolled_back"] is True
    assert AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003").data["cluster"] == (
        "eu-west-1"
    )


def test_the_wedge_waits_for_a_silent_cluster_then_advances(demo, two_clusters):
    proposal, east, west = two_clusters
    end = T0 + WINDOW
    # us-east-1 keeps calling; eu-west-1 went quiet after T0.
    east.call("rollout", end - timedelta(minutes=1))
    snapshot(demo, proposal, HEALTHY, end)
    assert wedge(proposal).current_stage_id == "initial"
    held = east.call("confirm-traffic-increase", end)
    assert held.status_code == 403
    problem = held.json()["errors"][0]
    assert problem["code"] == "canaries_unhealthy"
    assert (
        "eu-west-1: test/podinfo has not called since 2026-11-02 09:00:00 UTC"
        in (problem["message"])
    )
    # The tick holds it too, and an operator's approval is refused with the reason.
    wedges_tick(now=end + timedelta(seconds=5))
    assert wedge(proposal).current_stage_id == "initial"
    with pytest.raises(rollout.RolloutRefused, match="eu-west-1"):
        rollout.wedge_approve_advance(
            proposal_id=proposal.pk, actor=demo["dave"], reason="go", now=end
        )
    # eu-west-1 is back: the next tick advances.
    west.call("rollout", end + timedelta(seconds=10))
    wedges_tick(now=end + timedelta(seconds=15))
    assert wedge(proposal).current_stage_id == "canary"


def test_an_operator_detaches_a_decommissioned_cluster(demo, two_clusters):
    proposal, east, _ = two_clusters
    from gates.services import canary_detach

    end = T0 + WINDOW
    east.call("rollout", end - timedelta(minutes=1))
    snapshot(demo, proposal, HEALTHY, end)
    assert wedge(proposal).current_stage_id == "initial"
    west = CanaryBinding.objects.get(proposal=proposal, cluster="eu-west-1")
    canary_detach(binding_id=west.pk, actor=demo["dave"], reason="cluster retired")
    detached = AuditEvent.objects.get(proposal_id=proposal.pk, code="WDG-705")
    assert detached.actor.username == "dave"
    assert detached.data["cluster"] == "eu-west-1"
    assert detached.reason == "cluster retired"
    wedges_tick(now=end + timedelta(seconds=5))
    assert wedge(proposal).current_stage_id == "canary"


def test_a_failure_from_another_revision_is_recorded_but_rolls_nothing_back(demo, two_clusters):
    proposal, east, _ = two_clusters
    response = east.call(
        "event",
        T0 + timedelta(minutes=5),
        phase="Failed",
        checksum="0ther0ne00",
        eventMessage="Canary failed! Scaling down podinfo.test",
        eventType="Warning",
    )
    assert response.json()["recorded"] is True
    assert response.json()["failed"] is False
    assert wedge(proposal).wedge_state == "ACTIVE"


def test_repeated_events_are_recorded_once(demo, two_clusters):
    proposal, east, _ = two_clusters
    for minute in (1, 2, 3):
        east.event(
            T0 + timedelta(minutes=minute),
            "Halt podinfo.test advancement waiting for traffic increase approval",
            event_type="Warning",
        )
    east.event(T0 + timedelta(minutes=4), "Advance podinfo.test canary weight 10")
    messages = list(
        AuditEvent.objects.filter(proposal_id=proposal.pk, code="WDG-702")
        .order_by("id")
        .values_list("data__message", flat=True)
    )
    assert messages == [
        "Halt podinfo.test advancement waiting for traffic increase approval",
        "Advance podinfo.test canary weight 10",
    ]
    assert wedge(proposal).wedge_state == "ACTIVE"  # warnings are not failures
