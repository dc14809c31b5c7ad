"""Filing a waiver request: the input, who may, and which proposals can have one."""

from __future__ import annotations

import pytest

from org.models import Subsystem
from tests.waivers.helpers import codes
from waivers import errors
from waivers.errors import NotAllowed, WaiverInvalid, WaiverRuleError
from waivers.models import WaiverState
from waivers.services import waiver_request
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db


def problems(invalid: pytest.ExceptionInfo[WaiverInvalid]) -> set[tuple[str | None, str]]:
    return {(error.field, error.code) for error in invalid.value.errors}


def test_a_proposal_waiver_takes_its_scope_from_the_proposal(demo, single_stage, request_waiver):
    proposal = single_stage("alice", subsystem="control-plane", change_type="control_plane")
    waiver = request_waiver("alice", proposal=proposal, days=14)
    assert waiver.state == WaiverState.REQUESTED
    assert waiver.subsystem.slug == "control-plane"
    assert waiver.change_type == "control_plane"
    assert waiver.proposal == proposal
    assert not waiver.is_standing
    assert codes(waiver.pk) == ["WDG-201"]


def test_every_input_problem_is_reported_at_once(demo):
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_request(requester=demo["alice"], rationale="  ", duration_days=0)
    assert problems(invalid) == {
        ("rationale", errors.BLANK),
        ("duration_days", errors.DURATION_OUT_OF_RANGE),
        (None, errors.SCOPE_REQUIRED),
    }


@pytest.mark.parametrize("days", [0, -1, 91, 365])
def test_duration_is_1_to_90_days(demo, days):
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_request(
            requester=demo["alice"],
            rationale="why",
            duration_days=days,
            subsystem=Subsystem.objects.get(slug="connector-runtime"),
            change_type="connector_deployment",
        )
    assert problems(invalid) == {("duration_days", errors.DURATION_OUT_OF_RANGE)}


@pytest.mark.parametrize("days", [1, 90])
def test_duration_limits_are_inclusive(request_waiver, days):
    waiver = request_waiver(subsystem="connector-runtime", change_type="policy_update", days=days)
    assert waiver.duration_days == days


def test_scope_is_exactly_one_of_proposal_or_subsystem_and_change_type(demo, single_stage):
    proposal = single_stage()
    subsystem = Subsystem.objects.get(slug="connector-runtime")
    base = {"requester": demo["alice"], "rationale": "why", "duration_days": 5}
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_request(**base, proposal=proposal, subsystem=subsystem)
    assert problems(invalid) == {(None, errors.SCOPE_AMBIGUOUS)}
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_request(**base, subsystem=subsystem)
    assert problems(invalid) == {("change_type", errors.REQUIRED)}
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_request(**base, change_type="hotfix")
    assert problems(invalid) == {
        ("subsystem", errors.REQUIRED),
        ("change_type", errors.INVALID_CHOICE),
    }


@pytest.mark.parametrize("name", ["carol", "erin"])
def test_who_cannot_submit_proposals_cannot_request_standing_waivers(demo, name):
    with pytest.raises(NotAllowed) as refused:
        waiver_request(
            requester=demo[name],
            rationale="why",
            duration_days=5,
            subsystem=Subsystem.objects.get(slug="connector-runtime"),
            change_type="connector_deployment",
        )
    assert refused.value.code == errors.NOT_ALLOWED_TO_REQUEST


def test_the_author_may_request_for_their_proposal_even_without_the_engineer_role(
    demo, single_stage, request_waiver
):
    proposal = single_stage("alice")
    demo["alice"].groups.clear()
    waiver = request_waiver("alice", proposal=proposal)
    assert waiver.requester == demo["alice"]


def test_a_proposal_that_needs_no_waiver_cannot_have_one(submit, request_waiver):
    with pytest.raises(WaiverRuleError) as refused:
        request_waiver(proposal=submit())
    assert refused.value.code == errors.WAIVER_NOT_NEEDED


def test_a_started_proposal_cannot_have_a_waiver(demo, submit, request_waiver):
    proposal = submit()
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    with pytest.raises(WaiverRuleError) as refused:
        request_waiver(proposal=proposal)
    assert refused.value.code == errors.PROPOSAL_STARTED


def test_one_open_request_per_proposal(single_stage, request_waiver):
    proposal = single_stage()
    first = request_waiver(proposal=proposal)
    with pytest.raises(WaiverRuleError) as refused:
        request_waiver("dave", proposal=proposal)
    assert refused.value.code == errors.REQUEST_PENDING
    assert f"#{first.pk}" in refused.value.message


def test_a_covered_proposal_needs_no_second_waiver(single_stage, request_waiver, approve):
    proposal = single_stage()
    approve(request_waiver(proposal=proposal), "bob", "carol")
    with pytest.raises(WaiverRuleError) as refused:
        request_waiver(proposal=proposal)
    assert refused.value.code == errors.ALREADY_COVERED
