"""The expiry job: idempotent, audited once, scheduled by beat."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings

from audit.models import AuditEvent
from config.celery import beat_schedule
from tests.waivers.helpers import T, fresh
from waivers import services
from waivers.models import WaiverState
from waivers.services import waivers_expire
from waivers.tasks import expire_waivers

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_waivers(single_stage, request_waiver, approve):
    with time_machine.travel(T, tick=False):
        short = approve(request_waiver(proposal=single_stage(), days=10), "bob", "carol")
        long = approve(request_waiver(proposal=single_stage(), days=20), "bob", "frank")
    return short, long


def test_running_the_job_twice_expires_once(two_waivers):
    short, long = two_waivers
    now = T + dt.timedelta(days=10)
    assert waivers_expire(now=now) == 1
    assert waivers_expire(now=now) == 0
    assert fresh(short).state == WaiverState.EXPIRED
    assert fresh(long).state == WaiverState.APPROVED
    events = AuditEvent.objects.filter(code="WDG-205")
    assert list(events.values_list("waiver_id", flat=True)) == [short.pk]
    event = events.get()
    assert event.actor is None
    assert event.actor_label == "system"
    assert event.proposal_id == short.proposal_id


def test_open_and_closed_waivers_are_not_expired(demo, single_stage, request_waiver, approve):
    with time_machine.travel(T, tick=False):
        open_one = approve(request_waiver(proposal=single_stage(), days=1), "bob")
    assert waivers_expire(now=T + dt.timedelta(days=100)) == 0
    assert fresh(open_one).state == WaiverState.PARTIALLY_APPROVED


def test_the_celery_task_expires_what_is_due(two_waivers):
    with time_machine.travel(T + dt.timedelta(days=21), tick=False):
        assert expire_waivers.apply().get() == 2
        assert expire_waivers.apply().get() == 0
    assert AuditEvent.objects.filter(code="WDG-205").count() == 2


def test_beat_runs_the_expiry_every_configured_interval():
    entry = beat_schedule(settings)["waiver-expiry"]
    assert entry["task"] == "waivers.tasks.expire_waivers"
    assert entry["schedule"] == settings.WEDGE_WAIVER_EXPIRY_SECONDS
    assert expire_waivers.name == "waivers.tasks.expire_waivers"


def test_a_waiver_that_keeps_failing_does_not_hold_back_the_others(
    two_waivers, monkeypatch, caplog
):
    short, long = two_waivers  # the short one comes first: it expires first
    real = services.record_event

    def failing_for_short(**event):
        if event.get("waiver_id") == short.pk:
            raise RuntimeError("the audit chain refused this one")
        return real(**event)

    monkeypatch.setattr(services, "record_event", failing_for_short)
    now = T + dt.timedelta(days=21)
    assert waivers_expire(now=now) == 1
    assert waivers_expire(now=now) == 0  # it keeps failing, run after run
    assert fresh(short).state == WaiverState.APPROVED  # its transaction rolled back
    assert fresh(long).state == WaiverState.EXPIRED
    assert list(AuditEvent.objects.filter(code="WDG-205").values_list("waiver_id", flat=True)) == [
        long.pk
    ]
    failures = [r for r in caplog.records if r.name == "waivers.services"]
    assert len(failures) == 2
    assert f"Waiver #{short.pk}" in failures[0].getMessage()
    assert failures[0].exc_info is not None

    monkeypatch.setattr(services, "record_event", real)
    assert waivers_expire(now=now) == 1  # the next run, once it works again
    assert fresh(short).state == WaiverState.EXPIRED
