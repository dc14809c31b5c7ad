"""Four eyes for standing waivers, and approval slots only for who holds the role.

A standing waiver approved by X does not cover X's own proposals: neither
those waiting when it is approved nor those submitted while it is active, so
X cannot start them on the strength of their own approval.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from pytest_django.asserts import assertContains
from rest_framework.test import APIClient

from org.models import Section
from org.roles import Role
from tests.factories import UserFactory
from tests.waivers.helpers import fresh, fresh_proposal, waiver_of
from waivers import errors
from waivers.errors import NotAllowed
from waivers.models import ApprovalRole, WaiverState
from waivers.selectors import awaiting, visible_waivers
from waivers.services import waiver_approve
from wedges.services import RolloutRefused, wedge_start

pytestmark = pytest.mark.django_db

SCOPE = {"subsystem": "connector-runtime", "change_type": "connector_deployment"}


def test_proposals_waiting_when_it_is_approved_are_not_covered_for_its_approvers(
    demo, single_stage, request_waiver, approve
):
    # bob approves in the lead's slot, frank (another section's lead) in the reviewer's.
    bobs, franks, alices = single_stage("bob"), single_stage("frank"), single_stage("alice")
    waiver = approve(request_waiver("alice", **SCOPE), "bob", "frank")
    assert waiver.state == WaiverState.APPROVED
    assert waiver_of(alices) == waiver
    assert waiver_of(bobs) is None
    assert waiver_of(franks) is None
    assert list(fresh(waiver).covered_proposals.values_list("pk", flat=True)) == [alices.pk]
    for own in (bobs, franks):
        with pytest.raises(RolloutRefused) as refused:
            wedge_start(proposal_id=own.pk, actor=demo["dave"])
        assert refused.value.code == "waiver_required"
    wedge_start(proposal_id=alices.pk, actor=demo["dave"])


def test_proposals_submitted_while_it_is_active_are_not_covered_for_its_approvers(
    demo, single_stage, request_waiver, approve
):
    waiver = approve(request_waiver("alice", **SCOPE), "bob", "carol")
    bobs, alices = single_stage("bob"), single_stage("alice")
    assert waiver_of(bobs) is None
    assert fresh_proposal(bobs).waiver_required
    assert waiver_of(alices) == waiver
    with pytest.raises(RolloutRefused) as refused:
        wedge_start(proposal_id=bobs.pk, actor=demo["bob"])
    assert refused.value.code == "waiver_required"


def test_another_active_standing_waiver_the_author_did_not_approve_covers_instead(
    demo, single_stage, request_waiver, approve
):
    gina = UserFactory(username="gina", roles=[Role.SECTION_LEAD])
    Section.objects.get(slug="platform").leads.add(gina)
    longer = approve(request_waiver("alice", days=60, **SCOPE), "bob", "carol")
    shorter = waiver_approve(waiver=request_waiver("dave", days=30, **SCOPE), approver=gina)
    shorter = approve(shorter, "carol")
    assert waiver_of(single_stage("alice")) == longer  # the longest, as before
    assert waiver_of(single_stage("bob")) == shorter
    assert waiver_of(single_stage("dave")) == longer


def test_the_proposal_page_and_api_say_why_it_is_not_covered(
    demo, single_stage, request_waiver, approve, login
):
    waiver = approve(request_waiver("alice", **SCOPE), "bob", "carol")
    bobs = single_stage("bob")
    page = login("dave").get(f"/proposals/{bobs.pk}/")
    assertContains(page, f"waiver #{waiver.pk}")
    assertContains(page, "bob, the author of this proposal, approved it")
    assertContains(page, "Request a waiver")
    api = APIClient()
    api.force_authenticate(demo["dave"])
    body = api.get(f"/api/v1/proposals/{bobs.pk}/").json()
    assert (body["waiver_required"], body["waiver"], body["waiver_state"]) == (True, None, None)
    refused = api.post(f"/api/v1/proposals/{bobs.pk}/start/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "waiver_required"
    assert api.get(f"/api/v1/waivers/{waiver.pk}/").json()["covered_proposals"] == []


def test_the_author_may_still_get_a_waiver_from_two_other_people(
    demo, single_stage, request_waiver, approve
):
    approve(request_waiver("alice", **SCOPE), "bob", "carol")
    bobs = single_stage("bob")
    gina = UserFactory(username="gina", roles=[Role.SECTION_LEAD])
    Section.objects.get(slug="platform").leads.add(gina)
    own = waiver_approve(waiver=request_waiver("bob", proposal=bobs), approver=gina)
    own = approve(own, "carol")
    assert waiver_of(bobs) == own
    wedge_start(proposal_id=bobs.pk, actor=demo["dave"])


# --- Superusers fill a slot only through the role --------------------------------------------


@pytest.fixture
def admin(demo):
    admin = demo["admin"]
    assert admin.is_superuser
    assert not admin.groups.exists()
    return admin


def test_a_superuser_without_a_role_cannot_approve_or_reject(
    demo, admin, single_stage, request_waiver
):
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    with pytest.raises(NotAllowed) as refused:
        waiver_approve(waiver=waiver, approver=admin)
    assert refused.value.code == errors.NOT_A_REVIEWER
    api = APIClient()
    api.force_authenticate(admin)
    for action, body in (("approve", {}), ("reject", {"reason": "no"})):
        response = api.post(f"/api/v1/waivers/{waiver.pk}/{action}/", body, format="json")
        assert response.status_code == 403, response.content
        assert response.json()["errors"][0]["code"] == errors.NOT_A_REVIEWER
    assert fresh(waiver).state == WaiverState.REQUESTED
    assert not awaiting(visible_waivers(admin), admin).exists()


def test_a_superuser_listed_as_lead_without_the_leads_role_cannot_take_the_lead_slot(
    demo, admin, single_stage, request_waiver
):
    Section.objects.get(slug="platform").leads.add(admin)
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    with pytest.raises(NotAllowed):
        waiver_approve(waiver=waiver, approver=admin)


@pytest.mark.parametrize(
    ("role", "leads_platform", "slot"),
    [
        (Role.REVIEWER, False, ApprovalRole.REVIEWER),
        (Role.SECTION_LEAD, True, ApprovalRole.LEAD),
        (Role.SECTION_LEAD, False, ApprovalRole.REVIEWER),  # leads another section
    ],
)
def test_a_superuser_holding_the_role_fills_that_roles_slot(
    demo, admin, single_stage, request_waiver, role, leads_platform, slot
):
    admin.groups.add(Group.objects.get(name=role.value))
    if leads_platform:
        Section.objects.get(slug="platform").leads.add(admin)
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    assert awaiting(visible_waivers(admin), admin).filter(pk=waiver.pk).exists()
    waiver_approve(waiver=waiver, approver=admin)
    assert dict(fresh(waiver).approvals.values_list("approver__username", "role")) == {
        "admin": slot
    }


def test_an_inactive_reviewer_holds_no_slot(demo, single_stage, request_waiver):
    carol = demo["carol"]
    carol.is_active = False
    carol.save()
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    with pytest.raises(NotAllowed):
        waiver_approve(waiver=waiver, approver=carol)
