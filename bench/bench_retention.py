"""Snapshot retention at 10 million rows: table size, ingest before and after, pruning.

    .venv/bin/python -m bench.bench_retention [--rows 10000000]

In its own PostgreSQL database (``wedge_bench_retention``, dropped and
re-created) with production settings: seeds 1,000 started wedges, measures
ingest (``wedge_record_snapshot`` in this process: lock, insert, evaluate,
update, commit), bulk-loads ``--rows`` snapshots spread over the last 60 days
with ``INSERT ... SELECT generate_series`` (in time order, as they would have
arrived), measures the table's size and ingest again, then prunes what is past
``WEDGE_SNAPSHOT_RETENTION_DAYS`` (30) for a while, batch by batch as beat
does, and measures once more.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.common import mib, print_table
from bench.measure import check, ms, percentile
from bench.stack import configure_environment, recreate_database

DATABASE_URL = "postgres://postgres:postgres@127.0.0.1:5432/wedge_bench_retention"
WEDGES = 1_000
INGEST = 1_000  # snapshots per ingest measurement
LOAD_CHUNK = 1_000_000
SPAN_DAYS = 60
PRUNE_SECONDS = 30.0


def _ingest(ids: list[int], user: Any, values: dict[str, Any]) -> float:
    """Snapshots per second through the real service, one transaction each."""
    from wedges.services import wedge_record_snapshot

    began = time.perf_counter()
    for n in range(INGEST):
        outcome = wedge_record_snapshot(proposal_id=ids[n % len(ids)], metrics=values, actor=user)
        check(not outcome.acted, outcome.decision)
    return INGEST / (time.perf_counter() - began)


def _sizes() -> tuple[int, int, int]:
    """(rows estimate, table bytes, indexes bytes) of the snapshot table."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint, pg_table_size(oid), pg_indexes_size(oid) "
            "FROM pg_class WHERE relname = 'wedges_metricsnapshot'"
        )
        rows, table, indexes = cursor.fetchone()
    return int(rows), int(table), int(indexes)


def _load(rows: int, user_id: int) -> float:
    """``rows`` snapshots over the last SPAN_DAYS, oldest first, round-robin over the wedges."""
    from django.db import connection, transaction
    from django.utils import timezone

    start = timezone.now() - timedelta(days=SPAN_DAYS)
    step = (SPAN_DAYS * 86400 - 3600) / rows  # seconds between two snapshots, ending 1 h ago
    began = time.perf_counter()
    # As a bulk restore would: secondary indexes built once at the end (sorted,
    # far faster than 10 M inserts into each), and the rows' foreign keys, valid
    # by construction, not checked row by row (session_replication_role).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename = 'wedges_metricsnapshot' AND indexname NOT LIKE '%%_pkey'"
        )
        secondary = cursor.fetchall()
        for name, _ in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
    for offset in range(0, rows, LOAD_CHUNK):
        size = min(LOAD_CHUNK, rows - offset)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(
                """
                WITH w AS (
                    SELECT id, (row_number() OVER (ORDER BY id)) - 1 AS k
                    FROM wedges_rolloutwedge
                )
                INSERT INTO wedges_metricsnapshot
                    (wedge_id, received_at, "values", evidence, stage_index, reported_by_id)
                SELECT w.id, %s + (g * %s) * interval '1 second',
                       '{"error_rate": 0.002, "p99": "180ms"}'::jsonb, '{}'::jsonb, -1, %s
                FROM generate_series(%s, %s) AS g
                JOIN w ON w.k = g %% %s
                """,
                [start, step, user_id, offset, offset + size - 1, WEDGES],
            )
        print(f"bench_retention: loaded {offset + size:,} rows", flush=True)
    with connection.cursor() as cursor:
        for _, definition in secondary:
            cursor.execute(definition)
        cursor.execute("ANALYZE wedges_metricsnapshot")
    return time.perf_counter() - began


def run(rows: int) -> list[tuple[str, str, str]]:
    configure_environment()
    os.environ["DATABASE_URL"] = os.environ.get("WEDGE_BENCH_RETENTION_DATABASE_URL", DATABASE_URL)
    recreate_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    from bench.seed import HEALTHY, copy_started, started_template
    from org.demo import seed_demo
    from org.models import User
    from wedges.services import snapshots_prune
    from wedges.services.snapshots import BATCH_SIZE, _prune_batch, retention

    seed_demo()
    users = {u.username: u for u in User.objects.filter(username__in=["pipeline", "dave"])}
    template = started_template(author=users["pipeline"], operator=users["dave"])
    ids = [template.pk, *copy_started(template, WEDGES - 1, now=timezone.now(), first_number=1)]
    pipeline = users["pipeline"]

    _ingest(ids, pipeline, HEALTHY)  # warm
    empty_rate = _ingest(ids, pipeline, HEALTHY)
    load_seconds = _load(rows, pipeline.pk)
    loaded_rows, table, indexes = _sizes()
    full_rate = _ingest(ids, pipeline, HEALTHY)

    cutoff = timezone.now() - retention()
    durations: list[float] = []
    deleted = 0
    began = time.perf_counter()
    while time.perf_counter() - began < PRUNE_SECONDS:
        batch_began = time.perf_counter()
        removed = _prune_batch(cutoff, BATCH_SIZE)
        durations.append(time.perf_counter() - batch_began)
        deleted += removed
        if removed < BATCH_SIZE:
            break
    prune_elapsed = time.perf_counter() - began
    pruned_rate = _ingest(ids, pipeline, HEALTHY)
    finished = snapshots_prune(time_budget=0)  # one more batch through the service itself
    check(finished.deleted <= BATCH_SIZE, finished)

    return [
        (
            "snapshots loaded",
            f"{loaded_rows:,}",
            f"INSERT ... SELECT generate_series in chunks "
            f"of {LOAD_CHUNK:,}, {SPAN_DAYS} days of history over {WEDGES:,} wedges, oldest "
            f"first, secondary indexes rebuilt after; {load_seconds:.0f} s (bulk, not the API)",
        ),
        (
            "table size at that count",
            f"{mib(table)} + {mib(indexes)} indexes",
            f"pg_table_size + pg_indexes_size; {table / max(loaded_rows, 1):.0f} bytes a row "
            "(pk, (wedge, received_at), wedge, reporter and a BRIN on received_at)",
        ),
        (
            "ingest, empty table",
            f"{empty_rate:,.0f} /s",
            f"{INGEST:,} wedge_record_snapshot calls in this process, one transaction each "
            "(lock, insert, evaluate, update, commit), no HTTP",
        ),
        (
            f"ingest at {loaded_rows:,} rows",
            f"{full_rate:,.0f} /s",
            f"same, after the load; {full_rate / empty_rate:.2f} x the empty table's rate",
        ),
        (
            "pruning",
            f"{deleted / prune_elapsed:,.0f} rows/s",
            f"{deleted:,} rows past {retention().days} days deleted in {len(durations)} batches "
            f"of up to {BATCH_SIZE:,} ({prune_elapsed:.0f} s; each batch its own transaction, "
            "rows claimed FOR UPDATE SKIP LOCKED)",
        ),
        (
            "longest lock held by a batch",
            ms(max(durations)),
            f"p50 {ms(statistics.median(durations))}, p99 {ms(percentile(durations, 0.99))}: "
            "no row is locked longer than its batch; ingest never waits for it",
        ),
        (
            "ingest after pruning",
            f"{pruned_rate:,.0f} /s",
            f"same measurement with {deleted:,} dead rows not yet vacuumed; "
            f"{pruned_rate / empty_rate:.2f} x the empty table's rate",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--rows", type=int, default=int(os.environ.get("WEDGE_BENCH_SNAPSHOT_ROWS", 10_000_000))
    )
    args = parser.parse_args()
    rows = run(args.rows)
    print_table("Snapshot retention (bench/bench_retention.py)", rows)


if __name__ == "__main__":
    main()
