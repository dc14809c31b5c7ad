"""The four-eyes rules, enforced by the services themselves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from org.models import Section
from tests.factories import UserFactory
from tests.waivers.helpers import T, codes, fresh
from waivers import errors
from waivers.errors import NotAllowed, WaiverInvalid, WaiverRuleError
from waivers.models import ApprovalRole, WaiverState
from waivers.services import waiver_approve, waiver_reject, waiver_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiver(single_stage, request_waiver):
    return request_waiver("alice", proposal=single_stage("alice"), days=30)


def test_a_requester_approving_their_own_waiver_is_refused(demo, request_waiver):
    # bob leads the platform section and may request: still not his own approver.
    waiver = request_waiver(
        "bob", subsystem="connector-runtime", change_type="connector_deployment"
    )
    with pytest.raises(WaiverRuleError) as refused:
        waiver_approve(waiver=waiver, approver=demo["bob"], comment="mine")
    assert refused.value.code == errors.SELF_APPROVAL
    assert "two other people" in refused.value.message
    assert fresh(waiver).state == WaiverState.REQUESTED
    assert not fresh(waiver).approvals.exists()


def test_the_author_of_the_covered_proposal_cannot_approve_it(demo, single_stage, request_waiver):
    waiver = request_waiver("dave", proposal=single_stage("bob"))
    with pytest.raises(WaiverRuleError) as refused:
        waiver_approve(waiver=waiver, approver=demo["bob"])
    assert refused.value.code == errors.AUTHOR_APPROVAL


def test_a_non_lead_cannot_give_the_leads_approval(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["carol"], comment="fine by me")
    # frank leads another section; carol's reviewer slot is taken; only the lead's remains.
    # (An administrator takes no slot without a role: test_standing_four_eyes.py.)
    with pytest.raises(WaiverRuleError) as refused:
        waiver_approve(waiver=waiver, approver=demo["frank"])
    assert refused.value.code == errors.LEAD_APPROVAL_REQUIRED
    assert "lead of the Platform section" in refused.value.message
    assert fresh(waiver).state == WaiverState.PARTIALLY_APPROVED
    assert fresh(waiver).approvals.count() == 1


@pytest.mark.parametrize(
    ("first", "second"), [("bob", "carol"), ("carol", "bob"), ("bob", "frank"), ("frank", "bob")]
)
def test_order_does_not_matter(demo, waiver, first, second):
    waiver = waiver_approve(waiver=waiver, approver=demo[first])
    assert waiver.state == WaiverState.PARTIALLY_APPROVED
    waiver = waiver_approve(waiver=waiver, approver=demo[second])
    assert waiver.state == WaiverState.APPROVED
    roles = dict(waiver.approvals.values_list("approver__username", "role"))
    assert roles["bob"] == ApprovalRole.LEAD
    assert roles[first if first != "bob" else second] == ApprovalRole.REVIEWER


def test_a_second_lead_of_the_section_fills_the_reviewer_slot(demo, waiver):
    gina = UserFactory(username="gina", roles=[])
    gina.groups.set(demo["bob"].groups.all())
    Section.objects.get(slug="platform").leads.add(gina)
    waiver_approve(waiver=waiver, approver=demo["bob"])
    waiver = waiver_approve(waiver=waiver, approver=gina)
    assert waiver.state == WaiverState.APPROVED
    assert dict(waiver.approvals.values_list("approver__username", "role")) == {
        "bob": ApprovalRole.LEAD,
        "gina": ApprovalRole.REVIEWER,
    }


def test_a_second_vote_by_the_same_person_is_refused(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["bob"])
    with pytest.raises(WaiverRuleError) as refused:
        waiver_approve(waiver=waiver, approver=demo["bob"])
    assert refused.value.code == errors.ALREADY_VOTED
    assert "already approved" in refused.value.message
    assert fresh(waiver).approvals.count() == 1


@pytest.mark.parametrize("name", ["alice", "erin", "dave", "pipeline"])
def test_who_does_not_review_waivers_may_not_approve_or_reject(demo, waiver, name):
    with pytest.raises(NotAllowed) as refused:
        waiver_approve(waiver=waiver, approver=demo[name])
    assert refused.value.code == errors.NOT_A_REVIEWER
    with pytest.raises(NotAllowed):
        waiver_reject(waiver=waiver, approver=demo[name], reason="no")


def test_approval_activates_for_duration_days_from_the_second_approval(demo, waiver):
    with time_machine.travel(T, tick=False):
        waiver_approve(waiver=waiver, approver=demo["carol"])
    with time_machine.travel(T + dt.timedelta(hours=5), tick=False):
        waiver = waiver_approve(waiver=waiver, approver=demo["bob"])
    assert waiver.approved_at == T + dt.timedelta(hours=5)
    assert waiver.expires_at == waiver.approved_at + dt.timedelta(days=30)
    assert codes(waiver.pk) == ["WDG-201", "WDG-202", "WDG-202", "WDG-203", "WDG-207"]


def test_a_rejected_waiver_cannot_then_be_approved(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["carol"])
    waiver = waiver_reject(waiver=waiver, approver=demo["bob"], reason="Use two stages.")
    assert waiver.state == WaiverState.REJECTED
    assert waiver.closed_by == demo["bob"]
    assert waiver.closing_reason == "Use two stages."
    for name in ("bob", "frank"):
        with pytest.raises(WaiverRuleError) as refused:
            waiver_approve(waiver=waiver, approver=demo[name])
        assert refused.value.code == errors.WAIVER_CLOSED
        assert "was rejected" in refused.value.message
    assert fresh(waiver).state == WaiverState.REJECTED
    assert codes(waiver.pk) == ["WDG-201", "WDG-202", "WDG-204"]


def test_either_approver_can_reject_but_not_after_approving(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["bob"])
    with pytest.raises(WaiverRuleError) as refused:
        waiver_reject(waiver=waiver, approver=demo["bob"], reason="changed my mind")
    assert refused.value.code == errors.ALREADY_VOTED
    waiver = waiver_reject(waiver=waiver, approver=demo["carol"], reason="Too risky.")
    assert waiver.state == WaiverState.REJECTED


def test_a_rejection_needs_a_reason(demo, waiver):
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_reject(waiver=waiver, approver=demo["bob"], reason="   ")
    assert [(e.field, e.code) for e in invalid.value.errors] == [("reason", errors.BLANK)]
    assert fresh(waiver).state == WaiverState.REQUESTED


def test_who_could_not_approve_cannot_reject_either(demo, waiver):
    waiver_approve(waiver=waiver, approver=demo["carol"])
    with pytest.raises(WaiverRuleError) as refused:
        waiver_reject(waiver=waiver, approver=demo["frank"], reason="no")
    assert refused.value.code == errors.LEAD_APPROVAL_REQUIRED
    assert fresh(waiver).state == WaiverState.PARTIALLY_APPROVED


@pytest.mark.parametrize("closing", ["revoked", "expired"])
def test_a_revoked_or_expired_waiver_cannot_be_approved(demo, waiver, approve, closing):
    from waivers.services import waivers_expire

    if closing == "revoked":
        waiver_revoke(waiver=waiver, actor=demo["bob"], reason="Not needed after all.")
    else:
        with time_machine.travel(T, tick=False):
            approve(waiver, "bob", "carol")
        waivers_expire(now=T + dt.timedelta(days=30))
    with pytest.raises(WaiverRuleError) as refused:
        waiver_approve(waiver=waiver, approver=demo["frank"])
    assert refused.value.code == errors.WAIVER_CLOSED
    assert closing.replace("expired", "has expired") in refused.value.message
