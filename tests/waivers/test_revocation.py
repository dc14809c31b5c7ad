"""Revocation: by a lead of the owning section or an administrator, with a reason."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.waivers.helpers import codes, fresh
from waivers import errors
from waivers.errors import NotAllowed, WaiverInvalid, WaiverRuleError
from waivers.models import WaiverState
from waivers.services import waiver_revoke

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(single_stage, request_waiver, approve):
    return approve(request_waiver(proposal=single_stage()), "bob", "carol")


@pytest.mark.parametrize("name", ["alice", "carol", "dave", "erin", "frank"])
def test_only_a_lead_of_the_section_or_an_admin_may_revoke(demo, active, name):
    with pytest.raises(NotAllowed) as refused:
        waiver_revoke(waiver=active, actor=demo[name], reason="no")
    assert refused.value.code == errors.NOT_ALLOWED_TO_REVOKE
    assert fresh(active).state == WaiverState.APPROVED


@pytest.mark.parametrize("name", ["bob", "admin"])
def test_a_lead_or_an_admin_revokes_with_a_reason(demo, active, name):
    waiver = waiver_revoke(waiver=active, actor=demo[name], reason="Incident INC-7.")
    assert waiver.state == WaiverState.REVOKED
    assert waiver.closed_by == demo[name]
    assert waiver.closing_reason == "Incident INC-7."
    assert not waiver.is_active_at(timezone.now())
    assert codes(waiver.pk)[-1] == "WDG-206"


def test_an_open_request_can_be_revoked_too(demo, request_waiver, single_stage):
    waiver = request_waiver(proposal=single_stage())
    assert waiver_revoke(waiver=waiver, actor=demo["bob"], reason="dup").state == "REVOKED"


def test_revocation_needs_a_reason(demo, active):
    with pytest.raises(WaiverInvalid) as invalid:
        waiver_revoke(waiver=active, actor=demo["bob"], reason="")
    assert invalid.value.errors[0].field == "reason"


def test_a_closed_waiver_cannot_be_revoked_again(demo, active):
    waiver_revoke(waiver=active, actor=demo["bob"], reason="once")
    with pytest.raises(WaiverRuleError) as refused:
        waiver_revoke(waiver=active, actor=demo["admin"], reason="twice")
    assert refused.value.code == errors.WAIVER_CLOSED
    assert codes(active.pk).count("WDG-206") == 1
