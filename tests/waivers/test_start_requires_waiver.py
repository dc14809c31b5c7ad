"""A single-stage proposal cannot start without a waiver and can with one: API and form alike."""

from __future__ import annotations

import pytest

from tests.waivers.helpers import fresh_proposal
from wedges.models import State

pytestmark = pytest.mark.django_db


def start_by_api(token_client, proposal) -> int:
    response = token_client("dave").post(
        f"/api/v1/proposals/{proposal.pk}/start/", {}, format="json"
    )
    if response.status_code == 409:
        assert response.json()["errors"][0]["code"] == "waiver_required"
    return response.status_code


def start_by_form(login, proposal) -> None:
    response = login("dave").post(f"/proposals/{proposal.pk}/start/", {"reason": ""})
    assert response.status_code == 302


def state(proposal) -> str:
    return fresh_proposal(proposal).rollout_wedge.wedge_state


@pytest.mark.parametrize("how", ["api", "form"])
def test_single_stage_proposal_starts_only_once_a_waiver_covers_it(
    how, token_client, login, single_stage, request_waiver, approve
):
    proposal = single_stage()

    def start() -> None:
        if how == "api":
            start_by_api(token_client, proposal)
        else:
            start_by_form(login, proposal)

    start()
    assert state(proposal) == State.PENDING
    waiver = approve(request_waiver(proposal=proposal), "bob")
    start()  # one approval is not enough
    assert state(proposal) == State.PENDING
    approve(waiver, "carol")
    start()
    assert state(proposal) == State.ACTIVE


@pytest.mark.parametrize("how", ["api", "form"])
def test_a_revoked_waiver_no_longer_lets_a_covered_proposal_start(
    how, demo, token_client, login, single_stage, request_waiver, approve
):
    from waivers.services import waiver_revoke

    proposal = single_stage()
    waiver = approve(request_waiver(proposal=proposal), "bob", "carol")
    waiver_revoke(waiver=waiver, actor=demo["bob"], reason="Changed plans.")
    if how == "api":
        assert start_by_api(token_client, proposal) == 409
    else:
        start_by_form(login, proposal)
    assert state(proposal) == State.PENDING


def test_the_proposal_answer_says_which_waiver_covers_it(
    token_client, single_stage, request_waiver, approve
):
    proposal = single_stage()
    url = f"/api/v1/proposals/{proposal.pk}/"
    before = token_client("alice").get(url).json()
    assert (before["waiver_required"], before["waiver"], before["waiver_state"]) == (
        True,
        None,
        None,
    )
    waiver = approve(request_waiver(proposal=proposal), "bob", "carol")
    after = token_client("alice").get(url).json()
    assert after["waiver"] == waiver.pk
    assert after["waiver_state"] == "APPROVED"
    assert after["waiver_expires_at"] is not None
    assert after["waivable_codes"] == ["stages_too_few"]
