from __future__ import annotations

import math

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from providers.polling import due, poll_round


@shared_task(name="providers.tasks.poll", ignore_result=True)
def poll() -> dict[str, int]:
    """Beat's tick for metrics: one batch task per ``WEDGE_METRICS_BATCH`` due wedges.

    The batches spread over every process of the ``metrics`` pool; each claims
    its own wedges (``providers.polling.claim``), so they never overlap, and one
    sent too many finds nothing to claim.
    """
    waiting = due(timezone.now()).count()
    batches = math.ceil(waiting / settings.WEDGE_METRICS_BATCH)
    for _ in range(batches):
        poll_batch.apply_async(expires=batch_expiry())
    return {"due": waiting, "batches": batches}


def batch_expiry() -> float:
    """How long a batch may wait for a worker: longer than a batch takes when workers are
    busy, or no batch would ever run then. One that runs when its wedges were taken
    by others claims nothing, at the cost of one query."""
    return max(6 * settings.WEDGE_METRICS_POLL_SECONDS, 60.0)


@shared_task(name="providers.tasks.poll_batch", ignore_result=True)
def poll_batch() -> dict[str, object]:
    """One poll round over at most a batch of due wedges."""
    report = poll_round(limit=settings.WEDGE_METRICS_BATCH)
    return {
        "claimed": report.claimed,
        "recorded": report.recorded,
        "failed_queries": report.failed_queries,
        "skipped_queries": report.skipped_queries,
        "seconds": round(report.seconds, 3),
        **report.actions,
        **({"failed": len(report.failed_wedges)} if report.failed_wedges else {}),
    }
