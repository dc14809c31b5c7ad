"""The Celery application and its beat schedule (the one place it is defined)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("wedge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **_: object) -> None:
    from django.conf import settings

    sender.conf.beat_schedule = beat_schedule(settings)


def beat_schedule(settings: Any) -> dict[str, dict[str, object]]:
    """Every periodic job of Wedge, with its interval from settings."""
    return {
        "rollout-tick": {
            "task": "wedges.tasks.tick",
            "schedule": settings.WEDGE_TICK_SECONDS,
            "options": {"expires": settings.WEDGE_TICK_SECONDS},
        },
        "outbox-redrive": {
            "task": "webhooks.tasks.redrive",
            "schedule": settings.WEDGE_OUTBOX_REDRIVE_SECONDS,
            "options": {"expires": settings.WEDGE_OUTBOX_REDRIVE_SECONDS},
        },
        "waiver-expiry": {
            "task": "waivers.tasks.expire_waivers",
            "schedule": settings.WEDGE_WAIVER_EXPIRY_SECONDS,
            "options": {"expires": settings.WEDGE_WAIVER_EXPIRY_SECONDS},
        },
        "snapshot-retention": {
            "task": "wedges.tasks.prune_snapshots",
            "schedule": settings.WEDGE_SNAPSHOT_PRUNE_SECONDS,
            "options": {"expires": settings.WEDGE_SNAPSHOT_PRUNE_SECONDS},
        },
        "metrics-poll": {
            "task": "providers.tasks.poll",
            "schedule": settings.WEDGE_METRICS_POLL_SECONDS,
            "options": {"expires": settings.WEDGE_METRICS_POLL_SECONDS},
        },
        "audit-anchor": {
            "task": "audit.tasks.anchor_head",
            "schedule": settings.WEDGE_AUDIT_ANCHOR_SECONDS,
            "options": {"expires": settings.WEDGE_AUDIT_ANCHOR_SECONDS},
        },
        "audit-verify": {
            "task": "audit.tasks.verify_chain",
            "schedule": settings.WEDGE_AUDIT_VERIFY_SECONDS,
            "options": {"expires": settings.WEDGE_AUDIT_VERIFY_SECONDS},
        },
    }


@app.task(name="wedge.ping")
def ping(value: int) -> int:
    """A round trip through the broker and a worker (the integration tests use it)."""
    return value + 1
