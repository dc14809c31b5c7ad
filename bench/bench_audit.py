"""Audit trail benchmark: chained writes, verification and streaming export.

    .venv/bin/python -m bench.bench_audit

Runs on PostgreSQL in the ``wedge_bench`` database (created and migrated if
missing; its audit table is emptied first). Prints one table of figures, each
with how it was measured. Bounded to well under two minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

from bench.common import (
    bench_database_url,
    current_rss_bytes,
    mib,
    peak_rss_bytes,
    print_table,
    setup_django,
    stopwatch,
)

SINGLE_WRITER_EVENTS = 2_000
THREADED_WRITERS = ((8, 250), (32, 100))  # (threads, events per thread)
EXPORT_ROWS = 100_000
MARKS = (10_000, 100_000)  # rows exported when memory is sampled


def empty_audit_table() -> None:
    """The bench database only: TRUNCATE past the append-only trigger."""
    import pgtrigger
    from django.db import connection

    with pgtrigger.ignore("audit.AuditEvent:protect_truncate"), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent RESTART IDENTITY")


def write_events(count: int, writer: int = 0) -> None:
    from django.db import transaction

    from audit.codes import EventCode
    from audit.services import record_event

    for n in range(count):
        # One event per transaction, as a service records it.
        with transaction.atomic():
            record_event(
                code=EventCode.STAGE_ADVANCED,
                proposal_id=writer + 1,
                stage_id="stage-2",
                target_percentage=25,
                metrics={"error_rate": 0.004, "p99": "180ms"},
                reason="criteria met",
                data={"writer": writer, "n": n},
            )


def bench_single_writer() -> float:
    with stopwatch() as elapsed:
        write_events(SINGLE_WRITER_EVENTS)
    return SINGLE_WRITER_EVENTS / elapsed[0]


def bench_threads(threads: int, per_thread: int) -> float:
    from django.db import connection

    start = threading.Barrier(threads + 1)
    failures: list[BaseException] = []

    def run(writer: int) -> None:
        try:
            connection.ensure_connection()
            start.wait()
            write_events(per_thread, writer)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    with stopwatch() as elapsed:
        for worker in workers:
            worker.join()
    if failures:
        raise failures[0]
    return threads * per_thread / elapsed[0]


def seed_chain(count: int) -> None:
    """``count`` realistic events with a valid chain, bulk-inserted.

    record_event writes ~1-2k events/s (measured above); seeding 100k rows
    through it would spend the time budget on setup, so the rows are hashed
    with the same audit.hashing function and inserted in batches instead.
    """
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from audit.codes import EventCode
    from audit.hashing import GENESIS_HASH
    from audit.models import AuditEvent
    from audit.services import CHAIN_LOCK_KEY

    codes = list(EventCode)
    start = timezone.now() - dt.timedelta(days=90)
    batch = 5_000
    previous = GENESIS_HASH
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        for offset in range(0, count, batch):
            size = min(batch, count - offset)
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id'))"
                " FROM generate_series(1, %s)",
                [size],
            )
            rows = []
            for (event_id,), n in zip(cursor.fetchall(), range(offset, offset + size), strict=True):
                event = AuditEvent(
                    id=event_id,
                    occurred_at=start + dt.timedelta(seconds=n * 60),
                    code=codes[n % len(codes)].value,
                    proposal_id=n // 20 + 1,
                    stage_id=f"stage-{n % 5}",
                    target_percentage=Decimal(5 * (n % 5 + 1)).quantize(Decimal("0.01")),
                    actor_label="system",
                    metrics={"error_rate": round(0.001 * (n % 9), 3), "p99": f"{150 + n % 50}ms"},
                    reason="criteria met: error_rate < 0.01 and p99 <= 200ms",
                    data={"n": n},
                    prev_hash=previous,
                )
                event.hash = event.compute_hash()
                previous = event.hash
                rows.append(event)
            AuditEvent.objects.bulk_create(rows)


def bench_verify() -> tuple[int, float]:
    from audit.chain import verify_chain

    with stopwatch() as elapsed:
        report = verify_chain()
    assert report.ok, report.broken
    return report.verified, report.verified / elapsed[0]


def bench_chain_state() -> dict[str, float]:
    """The audit page's chain check at 100k events: cold (no checkpoint), warm, warm
    with new events; milliseconds, median of 5 (the cold one: once per budget)."""
    import statistics

    from django.core.cache import cache

    from audit import checkpoint
    from audit.checkpoint import PAGE_BUDGET, chain_state

    def timed(runs: int) -> float:
        samples = []
        for _ in range(runs):
            with stopwatch() as elapsed:
                chain_state()
            samples.append(elapsed[0] * 1000)
        return statistics.median(samples)

    cache.delete(checkpoint._key())
    cold = timed(1)  # verifies PAGE_BUDGET rows from the start of the chain
    while chain_state(budget=50_000).unverified:  # catch up, as page views and beat would
        pass
    warm = timed(5)
    write_events(50)
    with stopwatch() as elapsed:
        chain_state()
    return {"cold": cold, "warm": warm, "fifty_new": elapsed[0] * 1000, "budget": PAGE_BUDGET}


def export_child(fmt: str, trace: bool) -> dict[str, Any]:
    """Run in a fresh process: export every event through the API's streaming path."""
    setup_django(migrate=False)
    from django.http import StreamingHttpResponse
    from rest_framework.test import APIClient

    from org.models import User
    from org.roles import Role, sync_roles

    auditor, _ = User.objects.get_or_create(username="bench-auditor")
    auditor.groups.add(sync_roles()[Role.AUDITOR])
    client = APIClient()
    client.force_authenticate(auditor)
    client.get("/api/v1/audit-events/?page_size=1")  # warm up: imports, connection

    samples: dict[int, dict[str, int]] = {}
    baseline = current_rss_bytes()
    if trace:
        tracemalloc.start()
    rows = -1  # the header (CSV) or the opening bracket (JSON) is not a row
    size = 0
    with stopwatch() as elapsed:
        response = client.get(f"/api/v1/audit-events/export/?format={fmt}")
        assert response.status_code == 200, response.status_code
        marks = list(MARKS)
        body = cast(StreamingHttpResponse, response).streaming_content
        assert isinstance(body, Iterator)  # WSGI: a plain iterator, not an async one
        for chunk in body:
            rows += chunk.count(b"\n")
            size += len(chunk)
            while marks and rows >= marks[0]:
                sample = {"rss": current_rss_bytes()}
                if trace:
                    sample["heap_peak"] = tracemalloc.get_traced_memory()[1]
                samples[marks.pop(0)] = sample
    if fmt == "json":
        rows -= 1  # the closing bracket's line
    return {
        "rows": rows,
        "bytes": size,
        "seconds": elapsed[0],
        "baseline_rss": baseline,
        # The kernel's high-water mark can trail the last sample a little.
        "peak_rss": max(peak_rss_bytes(), *(sample["rss"] for sample in samples.values())),
        "samples": {str(mark): value for mark, value in samples.items()},
    }


def run_export(fmt: str, trace: bool = False) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.bench_audit", "--export-child", fmt]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    setup_django(migrate=True)
    from django.db import connection

    empty_audit_table()
    results: list[tuple[str, str, str]] = []

    rate = bench_single_writer()
    results.append(
        (
            "chained writes, 1 writer",
            f"{rate:,.0f} events/s",
            f"{SINGLE_WRITER_EVENTS:,} record_event calls, each in its own transaction.atomic()",
        )
    )
    for threads, per_thread in THREADED_WRITERS:
        rate = bench_threads(threads, per_thread)
        results.append(
            (
                f"chained writes, {threads} threads",
                f"{rate:,.0f} events/s",
                f"{threads} threads x {per_thread} events, own connections, released together; "
                "all events / wall clock",
            )
        )
    written, _ = bench_verify()  # the concurrent writers left one sound chain

    empty_audit_table()
    with stopwatch() as seeding:
        seed_chain(EXPORT_ROWS)
    verified, verify_rate = bench_verify()
    results.append(
        (
            "verify_chain",
            f"{verify_rate:,.0f} rows/s",
            f"verify_chain() over {verified:,} rows, streamed in chunks of 2,000",
        )
    )

    csv_run = run_export("csv")
    assert csv_run["rows"] == EXPORT_ROWS, csv_run["rows"]
    csv_trace = run_export("csv", trace=True)
    json_run = run_export("json")
    assert json_run["rows"] == EXPORT_ROWS, json_run["rows"]

    how_export = (
        "GET /api/v1/audit-events/export/?format={} as an auditor, body consumed; fresh process"
    )
    results += [
        (
            "CSV export, 100k events",
            f"{EXPORT_ROWS / csv_run['seconds']:,.0f} rows/s",
            how_export.format("csv") + f" ({csv_run['bytes'] / 1e6:,.1f} MB)",
        ),
        (
            "  RSS before export",
            mib(csv_run["baseline_rss"]),
            "/proc/self/statm after Django setup and one warm-up request",
        ),
    ]
    for mark in MARKS:
        results.append(
            (
                f"  RSS at {mark:,} rows",
                mib(csv_run["samples"][str(mark)]["rss"]),
                "/proc/self/statm while streaming",
            )
        )
    results.append(
        (
            "  peak RSS of the process",
            mib(csv_run["peak_rss"]),
            "getrusage(RUSAGE_SELF).ru_maxrss (whole process life) or a higher sample",
        )
    )
    for mark in MARKS:
        results.append(
            (
                f"  Python heap peak at {mark:,} rows",
                mib(csv_trace["samples"][str(mark)]["heap_peak"]),
                "tracemalloc peak since the export began (separate traced run)",
            )
        )
    results.append(
        (
            "JSON export, 100k events",
            f"{EXPORT_ROWS / json_run['seconds']:,.0f} rows/s",
            how_export.format("json") + f"; peak RSS {mib(json_run['peak_rss'])}",
        )
    )

    # Last: it writes 50 more events.
    page = bench_chain_state()
    results += [
        (
            "audit page chain check, cold",
            f"{page['cold']:,.1f} ms",
            f"chain_state() with no checkpoint at {verified:,} events: verifies the first "
            f"{page['budget']:,.0f} and counts the rest",
        ),
        (
            "audit page chain check, warm",
            f"{page['warm']:,.1f} ms",
            "checkpoint at the head: its row, no new rows, the count; median of 5",
        ),
        (
            "audit page chain check, 50 new events",
            f"{page['fifty_new']:,.1f} ms",
            "checkpoint at the head, then 50 events written: verifies those 50",
        ),
    ]

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        row = cursor.fetchone()
    version = row[0] if row else "?"
    database = bench_database_url().rsplit("@", 1)[-1]
    print_table(
        f"Audit trail — PostgreSQL {version} at {database}, {os.cpu_count()} CPUs; "
        f"{written:,} written events verified; "
        f"100k-row chain seeded in {seeding[0]:.1f} s",
        results,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--export-child", choices=["csv", "json"])
    parser.add_argument("--trace", action="store_true")
    arguments = parser.parse_args()
    if arguments.export_child:
        print(json.dumps(export_child(arguments.export_child, arguments.trace)))
    else:
        main()
