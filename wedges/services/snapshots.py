"""Snapshot retention: metric snapshots past ``WEDGE_SNAPSHOT_RETENTION_DAYS`` are pruned.

What is never pruned:

* the latest snapshot of any wedge (``RolloutWedge.latest_snapshot``): the
  engine's evidence for a running wedge, and what a finished wedge's page shows;
* nothing the audit trail needs: every decision event carries a copy of the
  snapshot it was made on (``AuditEvent.metrics``, and the criteria's values in
  ``data``), never a reference to the row, so the trail outlives the rows.

Rows go in short transactions of ``batch_size``, each claiming its rows with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL), so pruning never holds a long lock,
never waits for a writer, and two beats pruning at once split the work.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from wedges.models import MetricSnapshot, RolloutWedge

BATCH_SIZE = 5_000
# One run stops starting batches after this long; the next run goes on.
TIME_BUDGET_SECONDS = 60.0


@dataclass(frozen=True)
class PruneReport:
    deleted: int
    batches: int
    cutoff: datetime
    finished: bool  # False: the time budget ran out with rows still to prune


def retention() -> timedelta:
    return timedelta(days=settings.WEDGE_SNAPSHOT_RETENTION_DAYS)


def snapshots_prune(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    time_budget: float = TIME_BUDGET_SECONDS,
) -> PruneReport:
    """Delete snapshots received before ``now - retention()``, batch by batch."""
    now = now or timezone.now()
    cutoff = now - retention()
    started = time.monotonic()
    deleted = batches = 0
    while True:
        removed = _prune_batch(cutoff, batch_size)
        deleted += removed
        batches += 1
        if removed < batch_size:
            return PruneReport(deleted, batches, cutoff, finished=True)
        if time.monotonic() - started >= time_budget:
            return PruneReport(deleted, batches, cutoff, finished=False)


def _prune_batch(cutoff: datetime, batch_size: int) -> int:
    if connection.vendor == "postgresql":
        table = MetricSnapshot._meta.db_table
        wedges = RolloutWedge._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                DELETE FROM {table} WHERE id IN (
                    SELECT s.id FROM {table} AS s
                    WHERE s.received_at < %s
                      AND NOT EXISTS (
                          SELECT 1 FROM {wedges} AS w WHERE w.latest_snapshot_id = s.id
                      )
                    LIMIT %s
                    FOR UPDATE SKIP LOCKED
                )
                """,
                [cutoff, batch_size],
            )
            return cursor.rowcount
    # SQLite (the embedded default): no row locks to skip; the same rows, by the ORM.
    latest = RolloutWedge.objects.filter(latest_snapshot=OuterRef("pk"))
    with transaction.atomic():
        ids = list(
            MetricSnapshot.objects.filter(received_at__lt=cutoff)
            .exclude(Exists(latest))
            .values_list("pk", flat=True)[:batch_size]
        )
        MetricSnapshot.objects.filter(pk__in=ids)._raw_delete(connection.alias)
    return len(ids)
