"""Shared plumbing for the benchmarks: a dedicated database, timing, a table.

Benchmarks run against PostgreSQL with the test settings, in their own
database (``wedge_bench`` unless ``WEDGE_BENCH_DATABASE_URL`` says otherwise)
so they never touch development or test data.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres:postgres@127.0.0.1:5432/wedge_bench"


def bench_database_url() -> str:
    return os.environ.get("WEDGE_BENCH_DATABASE_URL", DEFAULT_URL)


def setup_django(*, migrate: bool) -> None:
    """Point the test settings at the bench database, create it if missing, migrate."""
    url = bench_database_url()
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings_test"
    if migrate:
        _create_database(url)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _create_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as elapsed: ...``; then ``elapsed[0]`` is wall-clock seconds."""
    result: list[float] = []
    start = time.perf_counter()
    try:
        yield result
    finally:
        result.append(time.perf_counter() - start)


def current_rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    """The highest resident set size this process has had (getrusage; KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mib(size: float) -> str:
    return f"{size / 1024 / 1024:,.1f} MiB"


def print_table(title: str, rows: Sequence[tuple[str, str, str]]) -> None:
    headers = ("figure", "value", "how it was measured")
    widths = [max(len(row[i]) for row in (headers, *rows)) for i in range(2)]
    print(f"\n{title}")
    print(f"{headers[0]:<{widths[0]}}  {headers[1]:>{widths[1]}}  {headers[2]}")
    print(f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * 19}")
    for figure, value, how in rows:
        print(f"{figure:<{widths[0]}}  {value:>{widths[1]}}  {how}")
