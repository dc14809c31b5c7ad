"""Two people (or two beats) acting at the same moment leave one consistent outcome.

Each thread has its own database connection, so the row locks really meet.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connections

from audit.models import AuditEvent
from config.refusals import ServiceError
from tests.waivers.helpers import T, fresh, fresh_proposal, waiver_of
from waivers.models import WaiverState
from waivers.services import waiver_approve, waiver_reject, waiver_revoke, waivers_expire
from wedges.errors import RolloutRefused
from wedges.models import State
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released together; returns each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # recorded for the test to inspect
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def waiver(single_stage, request_waiver):
    return request_waiver(proposal=single_stage())


@pytest.mark.parametrize("repeat", range(3))
def test_two_approvers_at_the_same_moment(demo, waiver, repeat):
    results = at_once(
        lambda: waiver_approve(waiver=waiver, approver=demo["bob"], comment="lead"),
        lambda: waiver_approve(waiver=waiver, approver=demo["carol"], comment="reviewer"),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    final = fresh(waiver)
    assert final.state == WaiverState.APPROVED
    assert final.approvals.count() == 2
    assert sorted(final.approvals.values_list("role", flat=True)) == ["lead", "reviewer"]
    assert AuditEvent.objects.filter(waiver_id=waiver.pk, code="WDG-202").count() == 2
    assert AuditEvent.objects.filter(waiver_id=waiver.pk, code="WDG-203").count() == 1
    assert AuditEvent.objects.filter(waiver_id=waiver.pk, code="WDG-207").count() == 1
    assert waiver_of(waiver.proposal) == final


def test_one_person_double_clicking_approve_votes_once(demo, waiver):
    results = at_once(
        lambda: waiver_approve(waiver=waiver, approver=demo["bob"]),
        lambda: waiver_approve(waiver=waiver, approver=demo["bob"]),
    )
    refusals = [r for r in results if isinstance(r, ServiceError)]
    assert len(refusals) == 1
    assert refusals[0].code == "already_voted"
    assert fresh(waiver).approvals.count() == 1
    assert fresh(waiver).state == WaiverState.PARTIALLY_APPROVED


def test_an_approval_racing_a_rejection_leaves_one_outcome(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["bob"])
    results = at_once(
        lambda: waiver_approve(waiver=waiver, approver=demo["carol"]),
        lambda: waiver_reject(waiver=waiver, approver=demo["frank"], reason="no"),
    )
    final = fresh(waiver)
    assert final.state in {WaiverState.APPROVED, WaiverState.REJECTED}
    assert sum(isinstance(r, ServiceError) for r in results) == 1
    decided = AuditEvent.objects.filter(waiver_id=waiver.pk, code__in=["WDG-203", "WDG-204"])
    assert decided.count() == 1


def test_two_beats_expire_a_waiver_once(demo, waiver, approve):
    with time_machine.travel(T, tick=False):
        approve(waiver, "bob", "carol")
    now = T + dt.timedelta(days=30)
    results = at_once(lambda: waivers_expire(now=now), lambda: waivers_expire(now=now))
    assert sorted(results) == [0, 1]
    assert fresh(waiver).state == WaiverState.EXPIRED
    assert AuditEvent.objects.filter(waiver_id=waiver.pk, code="WDG-205").count() == 1


def test_two_requests_for_one_proposal_at_once_leave_one_open(demo, single_stage, request_waiver):
    proposal = single_stage()
    results = at_once(
        lambda: request_waiver("alice", proposal=proposal),
        lambda: request_waiver("dave", proposal=proposal),
    )
    refusals = [r for r in results if isinstance(r, Exception)]
    assert len(refusals) == 1, results
    assert isinstance(refusals[0], ServiceError)
    assert refusals[0].code == "request_pending"
    assert proposal.waiver_requests.count() == 1


STANDING = {"subsystem": "connector-runtime", "change_type": "connector_deployment"}


@pytest.mark.parametrize("repeat", range(3))
def test_a_standing_approval_racing_a_submission_still_covers_it(
    demo, single_stage, request_waiver, approve, repeat
):
    standing = approve(request_waiver(**STANDING), "bob")
    results = at_once(
        lambda: waiver_approve(waiver=standing, approver=demo["carol"]),
        lambda: single_stage("pipeline"),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    proposal = results[1]
    # Whichever committed second saw the other: the new proposal is covered.
    assert waiver_of(proposal) == fresh(standing)


@pytest.mark.parametrize("repeat", range(3))
def test_a_standing_approval_racing_a_request_in_its_scope_does_not_deadlock(
    demo, single_stage, request_waiver, approve, repeat
):
    proposal = single_stage()
    standing = approve(request_waiver(**STANDING), "bob")
    results = at_once(
        lambda: waiver_approve(waiver=standing, approver=demo["carol"]),
        lambda: request_waiver("dave", proposal=proposal),
    )
    # The request may lose to the cover ("already covered"), but nothing deadlocks.
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, ServiceError) and e.code == "already_covered" for e in errors), errors
    assert fresh(standing).state == WaiverState.APPROVED
    assert waiver_of(proposal) == fresh(standing)


@pytest.mark.parametrize("repeat", range(3))
def test_a_start_racing_a_revocation_starts_only_under_an_active_waiver(
    demo, single_stage, request_waiver, approve, repeat
):
    proposal = single_stage()
    waiver = approve(request_waiver(proposal=proposal), "bob", "carol")
    results = at_once(
        lambda: wedge_start(proposal_id=proposal.pk, actor=demo["dave"]),
        lambda: waiver_revoke(waiver=waiver, actor=demo["bob"], reason="Changed plans."),
    )
    started, revoked = results
    assert not isinstance(revoked, Exception), results
    events = AuditEvent.objects.filter(proposal_id=proposal.pk)
    revocation = events.get(code="WDG-206")
    if isinstance(started, Exception):
        # The revocation committed first; the start saw it under the waiver's lock.
        assert isinstance(started, RolloutRefused)
        assert started.code == "waiver_required"
        assert fresh_proposal(proposal).rollout_wedge.wedge_state == State.PENDING
    else:
        # The start committed first, under the still active waiver.
        start = events.get(code="WDG-102")
        assert start.data == {"waiver": waiver.pk}
        assert start.pk < revocation.pk


@pytest.mark.parametrize("repeat", range(3))
def test_two_waivers_approved_at_once_for_one_proposal_cover_it_once(
    demo, single_stage, request_waiver, approve, repeat
):
    proposal = single_stage()
    own = approve(request_waiver(proposal=proposal), "bob")
    standing = approve(request_waiver("dave", **STANDING), "bob")
    results = at_once(
        lambda: waiver_approve(waiver=own, approver=demo["carol"]),
        lambda: waiver_approve(waiver=standing, approver=demo["frank"]),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    applied = AuditEvent.objects.filter(code="WDG-207", proposal_id=proposal.pk)
    assert applied.count() == 1
    assert waiver_of(proposal).pk == applied.get().waiver_id
