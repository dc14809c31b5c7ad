"""The Celery application and its beat schedule (the one place it is defined)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("wedge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = beat_schedule(settings)


def beat_schedule(settings: object) -> dict[str, dict[str, object]]:
    """Every periodic job of Wedge, with its interval from settings."""
    # Entries are added here as the engine, the outbox and waiver expiry land.
    del settings
    return {}


@app.task(name="wedge.ping")
def ping(value: int) -> int:
    """A round trip through the broker: used by /healthz tooling and tests."""
    return value + 1
