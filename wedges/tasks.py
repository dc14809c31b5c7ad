from __future__ import annotations

from celery import shared_task

from org import health
from wedges.services import snapshots_prune, wedges_tick


@shared_task(name="wedges.tasks.tick", ignore_result=True)
def tick() -> dict[str, int]:
    """The backstop for time-based gates: windows, the 3x pause, stale metrics."""
    report = wedges_tick()
    health.beat(health.ENGINE)
    failed = {"failed": len(report.failed)} if report.failed else {}
    return {"examined": report.examined, **report.actions, **failed}


@shared_task(name="wedges.tasks.prune_snapshots", ignore_result=True)
def prune_snapshots() -> dict[str, object]:
    """Snapshot retention (``WEDGE_SNAPSHOT_RETENTION_DAYS``), in short batches."""
    report = snapshots_prune()
    return {"deleted": report.deleted, "batches": report.batches, "finished": report.finished}
