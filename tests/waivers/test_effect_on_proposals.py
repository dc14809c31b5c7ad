"""What an approved waiver covers, and what an expired or revoked one stops covering."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from tests.waivers.helpers import T, fresh_proposal, waiver_of
from waivers.models import WaiverCoverage, WaiverState
from waivers.services import apply_standing_waiver, waiver_revoke, waivers_expire
from wedges.models import ChangeProposal
from wedges.services import RolloutRefused, wedge_start
from wedges.signals import proposal_submitted

pytestmark = pytest.mark.django_db

STANDING = {"subsystem": "connector-runtime", "change_type": "connector_deployment"}


def applied(proposal: ChangeProposal) -> list[int | None]:
    """The waivers WDG-207 says were applied to ``proposal``."""
    return list(
        AuditEvent.objects.filter(code="WDG-207", proposal_id=proposal.pk)
        .order_by("id")
        .values_list("waiver_id", flat=True)
    )


def test_a_proposal_waiver_covers_its_proposal_when_the_second_approval_lands(
    single_stage, request_waiver, approve
):
    proposal = single_stage()
    waiver = approve(request_waiver(proposal=proposal), "bob")
    assert waiver_of(proposal) is None
    waiver = approve(waiver, "carol")
    cover = waiver_of(proposal)
    assert cover == waiver
    assert cover.is_active_at(timezone.now())
    assert applied(proposal) == [waiver.pk]
    event = AuditEvent.objects.get(code="WDG-207", proposal_id=proposal.pk)
    assert event.data["lifted"] == ["stages_too_few"]
    assert event.data["scope"] == "proposal"


def test_a_standing_waiver_active_at_submission_covers_the_proposal_at_once(
    single_stage, submit, request_waiver, approve
):
    waiver = approve(request_waiver(**STANDING, days=60), "bob", "carol")
    proposal = single_stage()  # through the real submission path
    assert waiver_of(proposal) == waiver
    assert applied(proposal) == [waiver.pk]
    # Valid proposals, other change types and other subsystems are not touched.
    assert waiver_of(submit()) is None
    assert waiver_of(single_stage(change_type="policy_update")) is None
    other = single_stage(subsystem="control-plane", change_type="connector_deployment")
    assert waiver_of(other) is None


def test_the_submission_signal_runs_the_receiver(single_stage, request_waiver, approve):
    proposal = single_stage()
    waiver = approve(request_waiver(**STANDING), "bob", "carol")
    # Covered by the approval already; undo it to see the receiver do it again.
    WaiverCoverage.objects.filter(proposal=proposal).delete()
    proposal = fresh_proposal(proposal)
    proposal_submitted.send(sender=ChangeProposal, proposal=proposal)
    assert waiver_of(proposal) == waiver


def test_approving_a_standing_waiver_covers_the_waiting_proposals_in_its_scope(
    demo, single_stage, request_waiver, approve
):
    waiting = [single_stage("alice"), single_stage("pipeline")]
    other_type = single_stage(change_type="policy_update")
    # One that started under its own waiver, whose waiver was then revoked.
    started = single_stage()
    approve(request_waiver(proposal=started), "bob", "carol")
    wedge_start(proposal_id=started.pk, actor=demo["dave"])
    waiver_revoke(waiver=waiver_of(started), actor=demo["bob"], reason="rollout went fine")

    standing = approve(request_waiver(**STANDING), "bob", "frank")
    for proposal in waiting:
        assert waiver_of(proposal) == standing
    assert waiver_of(other_type) is None
    assert waiver_of(started).state == WaiverState.REVOKED
    assert sorted(standing.covered_proposals.values_list("id", flat=True)) == sorted(
        p.pk for p in waiting
    )


def test_a_revoked_standing_waiver_stops_covering_new_proposals(
    demo, single_stage, request_waiver, approve
):
    covered = single_stage()
    waiver = approve(request_waiver(**STANDING), "bob", "carol")
    assert waiver_of(covered) == waiver
    waiver_revoke(waiver=waiver, actor=demo["bob"], reason="Incident INC-42: stop.")

    new = single_stage()
    assert waiver_of(new) is None
    assert applied(new) == []
    # The covered proposal keeps its record but can no longer start.
    cover = waiver_of(covered)
    assert cover == waiver
    assert not cover.is_active_at(timezone.now())
    with pytest.raises(RolloutRefused) as refused:
        wedge_start(proposal_id=covered.pk, actor=demo["dave"])
    assert refused.value.code == "waiver_required"


def test_an_expired_standing_waiver_covers_nothing_new(single_stage, request_waiver, approve):
    with time_machine.travel(T, tick=False):
        approve(request_waiver(**STANDING, days=7), "bob", "carol")
    later = T + dt.timedelta(days=7)
    with time_machine.travel(later, tick=False):
        # Before the beat has run: the waiver is APPROVED but no longer active.
        assert waiver_of(single_stage()) is None
        waivers_expire(now=later)
        assert waiver_of(single_stage()) is None


def test_apply_standing_waiver_prefers_the_longest_lasting(single_stage, request_waiver, approve):
    short = approve(request_waiver(**STANDING, days=5), "bob", "carol")
    long = approve(request_waiver(**STANDING, days=50), "bob", "frank")
    proposal = single_stage()
    assert waiver_of(proposal) == long
    assert short != long
    # Nothing to do for a proposal that is covered already, or needs no waiver.
    assert apply_standing_waiver(proposal=fresh_proposal(proposal), now=timezone.now()) is None


def test_a_new_waiver_can_cover_a_proposal_whose_waiver_was_revoked(
    demo, single_stage, request_waiver, approve
):
    proposal = single_stage()
    first = approve(request_waiver(proposal=proposal), "bob", "carol")
    waiver_revoke(waiver=first, actor=demo["bob"], reason="Wrong rationale.")
    second = approve(request_waiver(proposal=proposal), "bob", "carol")
    assert waiver_of(proposal) == second
    assert applied(proposal) == [first.pk, second.pk]
