"""Periodic waiver work, scheduled by Celery beat (``config.celery.beat_schedule``)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from waivers.services import waivers_expire


@shared_task(name="waivers.tasks.expire_waivers")
def expire_waivers() -> int:
    """Expire the waivers whose time is up; returns how many. Safe to run twice."""
    return waivers_expire(now=timezone.now())
