"""The whole workflow through the pages: request form, inbox, waiver page, decisions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from tests.waivers.helpers import T, codes, fresh, fresh_proposal, waiver_of
from waivers.models import WaiverRequest, WaiverState
from waivers.services import waivers_expire
from wedges.models import State

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def text(response) -> str:
    return response.content.decode()


def test_request_approve_cover_start_and_expire_through_the_pages(
    login, single_stage, django_capture_on_commit_callbacks
):
    with time_machine.travel(T, tick=False):
        proposal = single_stage("alice")
        alice: Client = login("alice")

        # The proposal page offers a waiver request, which preselects the proposal.
        page = text(alice.get(reverse("proposals:detail", args=[proposal.pk])))
        assert f"/waivers/new/?proposal={proposal.pk}" in page
        form = alice.get(reverse("waivers:create"), {"proposal": proposal.pk})
        assert form.status_code == 200
        assert f'<option value="{proposal.pk}" selected>' in text(form)
        assert '<label for="id_rationale">Rationale</label>' in text(form)

        response = alice.post(
            reverse("waivers:create"),
            {
                "scope": "proposal",
                "proposal": proposal.pk,
                "rationale": "Config flag only.",
                "duration_days": "30",
            },
        )
        waiver = WaiverRequest.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("waivers:detail", args=[waiver.pk])
        assert "needs the approval of a lead of the Platform section" in messages_of(response)[0]
        # The requester sees the waiver but no decision forms.
        page = text(alice.get(reverse("waivers:detail", args=[waiver.pk])))
        assert "Config flag only." in page
        assert reverse("waivers:approve", args=[waiver.pk]) not in page

        # bob finds it in his inbox and approves as the section lead.
        bob = login("bob")
        inbox = text(bob.get(reverse("waivers:inbox")))
        assert reverse("waivers:detail", args=[waiver.pk]) in inbox
        page = text(bob.get(reverse("waivers:detail", args=[waiver.pk])))
        assert "Approve as section lead" in page
        assert reverse("waivers:revoke", args=[waiver.pk]) in page
        response = bob.post(
            reverse("waivers:approve", args=[waiver.pk]), {"approve-comment": "Agreed."}
        )
        assert response.status_code == 302
        assert messages_of(response) == [f"You approved waiver #{waiver.pk}."]
        assert fresh(waiver).state == WaiverState.PARTIALLY_APPROVED
        assert reverse("waivers:detail", args=[waiver.pk]) not in text(
            bob.get(reverse("waivers:inbox"))
        )

        # carol gives the second approval; the proposal is covered.
        carol = login("carol")
        assert "Approve as reviewer" in text(carol.get(reverse("waivers:detail", args=[waiver.pk])))
        carol.post(reverse("waivers:approve", args=[waiver.pk]), {"approve-comment": ""})
        assert fresh(waiver).state == WaiverState.APPROVED
        assert waiver_of(proposal) == fresh(waiver)

        # The waiver page shows the approvals and the full trail.
        page = text(carol.get(reverse("waivers:detail", args=[waiver.pk])))
        for meaning in (
            "Waiver requested",
            "Waiver approval given",
            "Waiver approved and active",
            "Waiver applied to a proposal",
        ):
            assert meaning in page
        assert "Agreed." in page
        assert f"#{proposal.pk} {proposal.title}" in page
        page = text(carol.get(reverse("proposals:detail", args=[proposal.pk])))
        assert f'Covered by <a href="/waivers/{waiver.pk}/">waiver #{waiver.pk}</a>' in page

        # The operator starts it from the proposal page.
        login("dave").post(reverse("proposals:operate", args=[proposal.pk, "start"]), {})
        assert fresh_proposal(proposal).rollout_wedge.wedge_state == State.ACTIVE

    with time_machine.travel(T + dt.timedelta(days=30), tick=False):
        waivers_expire(now=T + dt.timedelta(days=30))
        page = text(login("erin").get(reverse("waivers:detail", args=[waiver.pk])))
        assert "Expired" in page
        assert "Waiver expired" in page
    assert codes(waiver.pk) == ["WDG-201", "WDG-202", "WDG-202", "WDG-203", "WDG-207", "WDG-205"]


def test_a_standing_waiver_through_the_form(login, single_stage):
    response = login("alice").post(
        reverse("waivers:create"),
        {
            "scope": "standing",
            "subsystem": "connector-runtime",
            "change_type": "connector_deployment",
            "rationale": "Hotfix season.",
            "duration_days": "7",
        },
    )
    assert response.status_code == 302
    waiver = WaiverRequest.objects.get()
    assert waiver.is_standing
    assert waiver.change_type == "connector_deployment"


def test_the_form_shows_the_services_refusals_next_to_the_fields(login, single_stage):
    proposal = single_stage("alice")
    response = login("alice").post(
        reverse("waivers:create"),
        {"scope": "proposal", "proposal": proposal.pk, "rationale": " ", "duration_days": "91"},
    )
    assert response.status_code == 400
    page = text(response)
    assert "Give the rationale for the waiver." in page
    assert "A waiver lasts 1 to 90 days from its approval." in page
    response = login("alice").post(
        reverse("waivers:create"),
        {
            "scope": "standing",
            "subsystem": "control-plane",
            "rationale": "why",
            "duration_days": "5",
        },
    )
    assert response.status_code == 400
    assert "A standing waiver needs a change type." in text(response)
    response = login("alice").post(
        reverse("waivers:create"), {"scope": "proposal", "rationale": "why", "duration_days": "5"}
    )
    assert response.status_code == 400
    assert "Give the scope: a proposal, or a subsystem and a change type." in text(response)
    assert not WaiverRequest.objects.exists()


@pytest.mark.parametrize("name", ["carol", "erin"])
def test_who_cannot_request_gets_403_on_the_form(login, name):
    assert login(name).get(reverse("waivers:create")).status_code == 403


def test_decisions_by_who_may_not_are_403(login, single_stage, request_waiver):
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    alice = login("alice")
    for name in ("approve", "reject"):
        url = reverse(f"waivers:{name}", args=[waiver.pk])
        assert alice.post(url, {"reject-reason": "x"}).status_code == 403
    for name in ("carol", "frank", "erin"):
        response = login(name).post(
            reverse("waivers:revoke", args=[waiver.pk]), {"revoke-reason": "x"}
        )
        assert response.status_code == 403
    assert login("erin").post(reverse("waivers:approve", args=[waiver.pk])).status_code == 403
    assert fresh(waiver).state == WaiverState.REQUESTED
    assert not AuditEvent.objects.filter(waiver_id=waiver.pk).exclude(code="WDG-201").exists()


def test_the_rules_refusal_is_shown_as_a_message(login, single_stage, request_waiver, approve):
    waiver = approve(request_waiver("alice", proposal=single_stage("alice")), "carol")
    frank = login("frank")
    page = text(frank.get(reverse("waivers:detail", args=[waiver.pk])))
    assert reverse("waivers:approve", args=[waiver.pk]) not in page  # form not offered
    response = frank.post(reverse("waivers:approve", args=[waiver.pk]), follow=True)
    assert response.status_code == 200
    assert "still needs the approval of a lead of the Platform section" in text(response)
    assert fresh(waiver).approvals.count() == 1


def test_a_rejection_without_a_reason_is_shown_on_the_form(login, single_stage, request_waiver):
    waiver = request_waiver("alice", proposal=single_stage("alice"))
    response = login("bob").post(reverse("waivers:reject", args=[waiver.pk]), {"reject-reason": ""})
    assert response.status_code == 400
    assert "Give a reason." in text(response)
    response = login("bob").post(
        reverse("waivers:reject", args=[waiver.pk]), {"reject-reason": "Two stages, please."}
    )
    assert response.status_code == 302
    assert fresh(waiver).state == WaiverState.REJECTED


def test_revocation_from_the_page(login, single_stage, request_waiver, approve):
    waiver = approve(request_waiver("alice", proposal=single_stage("alice")), "bob", "carol")
    response = login("bob").post(
        reverse("waivers:revoke", args=[waiver.pk]), {"revoke-reason": "Incident."}
    )
    assert response.status_code == 302
    assert fresh(waiver).state == WaiverState.REVOKED
    page = text(login("bob").get(reverse("waivers:detail", args=[waiver.pk])))
    assert "Incident." in page
    assert reverse("waivers:revoke", args=[waiver.pk]) not in page


def test_the_list_filters_and_the_inbox(login, single_stage, request_waiver, approve):
    open_one = request_waiver("alice", proposal=single_stage("alice"))
    approved = approve(request_waiver("alice", proposal=single_stage("alice")), "bob", "carol")
    standing = request_waiver("alice", subsystem="control-plane", change_type="control_plane")
    erin = login("erin")

    def listed(client, *args, **params) -> set[int]:
        page = text(client.get(reverse("waivers:list", args=args), params))
        return {w.pk for w in (open_one, approved, standing) if f'/waivers/{w.pk}/"' in page}

    assert listed(erin) == {open_one.pk, approved.pk, standing.pk}
    assert listed(erin, state="APPROVED") == {approved.pk}
    assert listed(erin, subsystem="control-plane") == {standing.pk}
    assert login("erin").get(reverse("waivers:inbox")).status_code == 403
    assert login("carol").get(reverse("waivers:list"), {"awaiting": "me"}).status_code == 200
    assert listed(login("carol"), awaiting="me") == {open_one.pk, standing.pk}
    # An engineer sees their own.
    assert listed(login("pipeline")) == set()
    assert listed(login("alice")) == {open_one.pk, approved.pk, standing.pk}


def test_a_waiver_the_user_may_not_see_is_404(login, single_stage, request_waiver):
    waiver = request_waiver("pipeline", proposal=single_stage("pipeline"))
    assert login("alice").get(reverse("waivers:detail", args=[waiver.pk])).status_code == 404
    assert login("alice").post(reverse("waivers:approve", args=[waiver.pk])).status_code == 404


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get(reverse("waivers:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
