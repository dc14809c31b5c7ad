"""Where the time of one snapshot goes: ``POST /metrics/`` profiled beside ``GET desired-state/``.

    .venv/bin/python -m bench.profile_ingest [--requests 600]

Runs against the stack benchmark's database and settings (``bench.stack``:
production settings, ``DEBUG=0``, PostgreSQL, Redis), seeded with started
wedges, but in this process: each request goes through Django's WSGI handler
with every middleware, DRF's token authentication, the view and the renderer
(Django's test client builds the WSGI environ; no socket, no gunicorn). Under
``cProfile`` it prints, per request, the time inside each part of the path,
and the queries each request makes, by kind. Figures are CPU-bound and
single-threaded, so they show shares, not throughput.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import re
import time
from collections import Counter
from typing import Any

from bench.stack import configure_environment

# (label, file fragment, function name): the time spent inside each, cumulative.
PARTS: list[tuple[str, str, str]] = [
    ("whole request (WSGI handler)", "django/test/client.py", "request"),
    ("  middleware before/after the view", "", ""),  # computed: handler - view dispatch
    ("  DRF dispatch (view)", "rest_framework/views.py", "dispatch"),
    ("    token authentication", "config/api/auth.py", "authenticate"),
    ("      failed-token throttle check (cache)", "config/api/throttling.py", "blocked"),
    ("      token lookup (find_token)", "org/tokens.py", "find_token"),
    ("      last-use write (note_use)", "org/tokens.py", "note_use"),
    ("      scope check (scope_refusal)", "org/scopes.py", "scope_refusal"),
    ("    permission classes", "rest_framework/views.py", "check_permissions"),
    ("    JSON body parse", "config/api/parsers.py", "parse"),
    ("    metrics action (view body)", "wedges/api.py", "metrics"),
    ("      may_report_metrics (on the locked row)", "org/scopes.py", "may_report_metrics"),
    ("      validate_metrics", "wedges/metrics.py", "validate_metrics"),
    ("      wedge_record_snapshot", "wedges/services/rollout.py", "wedge_record_snapshot"),
    ("        locked read (_locked)", "wedges/services/rollout.py", "_locked"),
    ("        stage plan (first read in a process)", "wedges/models.py", "stage_plan"),
    ("        snapshot row INSERT", "django/db/models/query.py", "create"),
    ("        decide (view + policy)", "wedges/services/rollout.py", "decide"),
    ("          policy_view (builds StageViews)", "wedges/models.py", "policy_view"),
    ("          StageView.__post_init__ (parse)", "wedges/policy/engine.py", "__post_init__"),
    ("          engine.decide", "wedges/policy/engine.py", "decide"),
    ("        wedge UPDATE (save)", "django/db/models/base.py", "save"),
    ("        transaction commit", "django/db/transaction.py", "__exit__"),
    ("      current_stage_id (another view)", "wedges/models.py", "current_stage_id"),
    ("      outcome body (snapshot_outcome_body)", "wedges/api.py", "snapshot_outcome_body"),
    ("    JSON render", "rest_framework/renderers.py", "render"),
    ("  all SQL execution (cursor.execute)", "django/db/backends/utils.py", "_execute"),
    ("  psycopg execute (driver + round trip)", "psycopg/cursor.py", "execute"),
]


def _cumulative(stats: pstats.Stats, fragment: str, name: str) -> float:
    total = 0.0
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and fragment in filename:
            total += row[3]  # cumulative time
    return total


def _query_kind(sql: str) -> str:
    text = sql.strip().upper()
    for marker, label in (
        ("FOR UPDATE", "SELECT ... FOR UPDATE (lock)"),
        ('INSERT INTO "WEDGES_METRICSNAPSHOT"', "INSERT snapshot"),
        ('UPDATE "WEDGES_ROLLOUTWEDGE"', "UPDATE wedge"),
        ('UPDATE "ORG_APITOKEN"', "UPDATE token last use"),
        ('FROM "ORG_APITOKEN"', "SELECT token"),
        ('FROM "WEDGES_WEDGESTAGE"', "SELECT stages"),
        ('FROM "WEDGES_CHANGEPROPOSAL"', "SELECT proposal"),
        ("SAVEPOINT", "SAVEPOINT"),
        ('FROM "AUTH_PERMISSION"', "SELECT owner's permissions"),
    ):
        if marker in text:
            return label
    return re.sub(r"\s+", " ", text)[:70]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    env = configure_environment()

    from bench.bench_stack import Context, prepare_database, seed
    from bench.seed import HEALTHY
    from bench.stack import Stack

    prepare_database(env)
    ctx = Context(stack=Stack(port=0), tokens={})
    seed(ctx)

    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Token {ctx.tokens['pipeline']}")
    ids = ctx.active_ids
    body = json.dumps({"metrics": HEALTHY})

    def post(n: int) -> Any:
        return client.post(
            f"/api/v1/proposals/{ids[n % len(ids)]}/metrics/", body, content_type="application/json"
        )

    def get(n: int) -> Any:
        return client.get(f"/api/v1/proposals/{ids[n % len(ids)]}/desired-state/")

    for name, call in (("POST /metrics/", post), ("GET /desired-state/", get)):
        for n in range(20):  # warm: imports, caches, the token's last-use write
            assert call(n).status_code == 200
        with CaptureQueriesContext(connection) as queries:
            call(20)
        kinds = Counter(_query_kind(q["sql"]) for q in queries.captured_queries)
        count = len(queries.captured_queries)
        reset_queries()
        profile = cProfile.Profile()
        began = time.perf_counter()
        profile.enable()
        for n in range(args.requests):
            call(n)
        profile.disable()
        wall = time.perf_counter() - began
        stats = pstats.Stats(profile)
        per = 1000 / args.requests
        print(f"\n== {name}: {args.requests} requests, {wall * per:.2f} ms each under cProfile ==")
        print(f"   {count} statements a request: {dict(kinds)}")
        handler = _cumulative(stats, "django/test/client.py", "request")
        dispatch = _cumulative(stats, "rest_framework/views.py", "dispatch")
        for label, fragment, function in PARTS:
            value = _cumulative(stats, fragment, function) if fragment else handler - dispatch
            if value:
                share = value / handler if handler else 0
                print(f"  {label:<46} {value * per:7.3f} ms  {share:6.1%}")
        print("\n  top 25 functions by own time:")
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
