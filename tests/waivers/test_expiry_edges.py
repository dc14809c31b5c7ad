"""Expiry at the edges: day 89, 90 and 91 of a 90-day waiver (and of a 30-day one)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from tests.waivers.helpers import T, fresh
from waivers.models import WaiverState
from waivers.rules import MAX_WAIVER_DAYS
from waivers.services import waivers_expire

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)


@pytest.fixture
def approved_at_t(single_stage, request_waiver, approve):
    def make(days: int):
        with time_machine.travel(T, tick=False):
            waiver = request_waiver(proposal=single_stage(), days=days)
            return approve(waiver, "bob", "carol")

    return make


def expire_at(moment: dt.datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return waivers_expire(now=timezone.now())


@pytest.mark.parametrize("days", [MAX_WAIVER_DAYS, 30])
def test_active_through_the_day_before_expired_exactly_at_the_deadline(approved_at_t, days):
    waiver = approved_at_t(days)
    deadline = T + days * DAY
    assert waiver.approved_at == T
    assert waiver.expires_at == deadline

    # Day days-1 (89 of 90): active, and the job leaves it alone.
    assert expire_at(deadline - DAY) == 0
    assert fresh(waiver).state == WaiverState.APPROVED
    assert fresh(waiver).is_active_at(deadline - DAY)
    # One second before the deadline: still active.
    assert expire_at(deadline - SECOND) == 0
    assert fresh(waiver).is_active_at(deadline - SECOND)

    # Exactly at the deadline: no longer active even before the job runs ...
    assert not fresh(waiver).is_active_at(deadline)
    # ... and the job expires it then.
    assert expire_at(deadline) == 1
    expired = fresh(waiver)
    assert expired.state == WaiverState.EXPIRED
    assert expired.closed_at == deadline
    assert not expired.is_active_at(deadline)

    # Day days+1 (91 of 90): still expired, nothing more happens.
    assert expire_at(deadline + DAY) == 0
    assert fresh(waiver).state == WaiverState.EXPIRED
    assert not fresh(waiver).is_active_at(deadline + DAY)
    assert AuditEvent.objects.filter(waiver_id=waiver.pk, code="WDG-205").count() == 1


def test_a_late_job_still_expires_and_is_active_at_was_false_meanwhile(approved_at_t):
    waiver = approved_at_t(MAX_WAIVER_DAYS)
    day_91 = T + (MAX_WAIVER_DAYS + 1) * DAY
    # The beat did not run on day 90: the waiver already covers nothing.
    assert fresh(waiver).state == WaiverState.APPROVED
    assert not fresh(waiver).is_active_at(day_91)
    assert expire_at(day_91) == 1
    assert fresh(waiver).state == WaiverState.EXPIRED


def test_expires_at_is_never_more_than_90_days_after_approval(approved_at_t):
    waiver = approved_at_t(MAX_WAIVER_DAYS)
    assert waiver.expires_at is not None
    assert waiver.approved_at is not None
    assert waiver.expires_at - waiver.approved_at == dt.timedelta(days=90)
