"""Waivers decide whether a proposal may start through a hook wedges offers, not an import."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from waivers import selectors, services
from wedges import hooks
from wedges.errors import RolloutRefused
from wedges.models import State
from wedges.services import wedge_start

pytestmark = pytest.mark.django_db


def started_event(proposal) -> AuditEvent:
    return AuditEvent.objects.get(code="WDG-102", proposal_id=proposal.pk)


def test_the_waivers_app_plugs_its_start_check_and_its_cover_into_wedges():
    assert services.require_active_cover in hooks.START_CHECKS
    assert hooks.COVER.reader is selectors.waiver_cover
    assert hooks.COVER.joins == selectors.COVER_JOINS


def test_a_start_records_the_waiver_that_let_it_start(demo, single_stage, request_waiver, approve):
    proposal = single_stage()
    waiver = approve(request_waiver(proposal=proposal), "bob", "carol")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    assert started_event(proposal).data == {"waiver": waiver.pk}


def test_a_start_without_waiver_records_no_waiver(demo, submit):
    proposal = submit()
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    assert started_event(proposal).data == {}


def test_wedge_start_asks_every_registered_check_and_keeps_their_facts(demo, submit, monkeypatch):
    seen = []

    def first(proposal, now):
        seen.append(("first", proposal.pk))
        return {"first": 1}

    def second(proposal, now):
        seen.append(("second", proposal.pk))
        return None

    monkeypatch.setattr(hooks, "START_CHECKS", [first, second])
    proposal = submit()
    wedge = wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    assert wedge.wedge_state == State.ACTIVE
    assert seen == [("first", proposal.pk), ("second", proposal.pk)]
    assert started_event(proposal).data == {"first": 1}


def test_a_refusing_check_leaves_the_wedge_pending(demo, submit, monkeypatch):
    def refuse(proposal, now):
        raise RolloutRefused("not_today", "Not today.")

    monkeypatch.setattr(hooks, "START_CHECKS", [refuse])
    proposal = submit()
    with pytest.raises(RolloutRefused) as refused:
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    assert refused.value.code == "not_today"
    proposal.rollout_wedge.refresh_from_db()
    assert proposal.rollout_wedge.wedge_state == State.PENDING
    assert not AuditEvent.objects.filter(code="WDG-102", proposal_id=proposal.pk).exists()


def test_without_a_cover_reader_a_proposal_answers_no_waiver(
    token_client, single_stage, request_waiver, approve, monkeypatch
):
    proposal = single_stage()
    approve(request_waiver(proposal=proposal), "bob", "carol")
    monkeypatch.setattr(hooks, "COVER", hooks.CoverSource())
    body = token_client("alice").get(f"/api/v1/proposals/{proposal.pk}/").json()
    assert (body["waiver"], body["waiver_state"], body["waiver_expires_at"]) == (None, None, None)
