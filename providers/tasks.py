from __future__ import annotations

import uuid
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from providers.config import configured
from providers.polling import claim, poll_round, round_lease


@shared_task(name="providers.tasks.poll", ignore_result=True)
def poll() -> dict[str, int]:
    """Beat's tick for metrics: claim the due wedges in batches, one task each.

    The batches spread over every process of the ``metrics`` pool. The
    wedges are claimed here, so a tick while earlier batches still wait for a
    worker finds them leased and sends no second batch for them.
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=batch_expiry()) + round_lease(configured().values())
    batches = claimed = 0
    while True:
        token = uuid.uuid4()
        ids = claim(
            now=now, lease_until=lease_until, limit=settings.WEDGE_METRICS_BATCH, token=token
        )
        if not ids:
            break
        poll_batch.apply_async(args=(ids, str(token)), expires=batch_expiry())
        batches, claimed = batches + 1, claimed + len(ids)
    return {"due": claimed, "batches": batches}


def batch_expiry() -> float:
    """How long a batch may wait for a worker: longer than a batch takes when workers are
    busy, or no batch would ever run then. Its wedges stay claimed meanwhile."""
    return max(6 * settings.WEDGE_METRICS_POLL_SECONDS, 60.0)


@shared_task(name="providers.tasks.poll_batch", ignore_result=True)
def poll_batch(ids: list[int], token: str) -> dict[str, object]:
    """One poll round over the wedges the fan-out claimed for it."""
    report = poll_round(claimed=(ids, uuid.UUID(token)))
    return {
        "claimed": report.claimed,
        "recorded": report.recorded,
        "failed_queries": report.failed_queries,
        "skipped_queries": report.skipped_queries,
        "seconds": round(report.seconds, 3),
        **report.actions,
        **({"failed": len(report.failed_wedges)} if report.failed_wedges else {}),
    }
