from __future__ import annotations

from celery import shared_task

from providers.polling import poll_round


@shared_task(name="providers.tasks.poll", ignore_result=True)
def poll() -> dict[str, object]:
    """One poll round over every running wedge with metric queries that is due."""
    report = poll_round()
    return {
        "claimed": report.claimed,
        "recorded": report.recorded,
        "failed_queries": report.failed_queries,
        "seconds": round(report.seconds, 3),
        **report.actions,
        **({"failed": len(report.failed_wedges)} if report.failed_wedges else {}),
    }
