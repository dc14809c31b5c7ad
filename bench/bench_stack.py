"""The rollout engine on the real stack: gunicorn, a Celery worker, beat, PostgreSQL, Redis.

    .venv/bin/python -m bench.bench_stack [--only-ingest]

Creates and migrates its own database, seeds real started wedges, starts the
stack on a free loopback port, measures, and stops every process it started.
Figures (each printed with how it was measured):

* trigger to notification: a breaching snapshot POSTed to ``/metrics/`` until
  the local webhook receiver holds the signed RWG-003 for that proposal;
* healthy snapshots accepted per second with 8 clients, beside an
  authenticated ``GET .../desired-state/`` on the same server in the same run;
* the dry-run endpoint's median latency;
* the floor: a bare insert view and a bare signed POST from the worker, same run;
* the gates' answer times for Flagger and Argo (``bench.bench_gates``);
* one beat tick over 10,000 and 100,000 active wedges: time and queries;
* the proposal list page and list API at 100,000 proposals.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench.bench_gates import bench_gates
from bench.measure import Http, Row, check, ms, percentile, print_rows
from bench.seed import BREACHING, HEALTHY, copy_started, started_template, ten_stage_proposal
from bench.stack import Stack, configure_environment, flush_redis, recreate_database

ACTIVE = 10_000  # active wedges in the database while rollbacks are measured (issue #15)
ROLLBACKS = 250  # measured rollbacks: at least 200, so the p99 is not just the slowest one
WARMUP_ROLLBACKS = 10  # first connections, worker processes, caches: not measured
NOTIFY_TIMEOUT = 10.0  # seconds to wait for one webhook before counting it lost
CLIENTS = 8
THROUGHPUT_SECONDS = 10.0
DRY_RUNS = 100
PAGE_REQUESTS = 30
TICK_SIZES = (10_000, 100_000)
FLOOR_SAMPLES = 100  # bare view round trips and bare signed POSTs from the worker
TICK_RUNS = 3
DUE_PER_TICK = 20  # wedges made due before the "with due wedges" tick
SECRET = "bench-webhook-secret-0123456789"
POLICY_SECONDS = 60.0
TARGET_P99 = 0.250  # seconds (issue #8)
TARGET_P99_SCALE = 0.050  # seconds (issue #15, with ACTIVE wedges)
TARGET_RATIO = 0.6  # snapshots / authenticated GETs per second (issue #15)


@dataclass
class Context:
    stack: Stack
    tokens: dict[str, str]
    template: Any = None  # the proposal the bulk copies copy
    active_ids: list[int] = field(default_factory=list)
    rollback_ids: list[int] = field(default_factory=list)
    proposals: int = 0
    rows: list[Row] = field(default_factory=list)

    def client(self, user: str = "pipeline") -> Http:
        return Http(self.stack.port, {"Authorization": f"Token {self.tokens[user]}"})


# --- Set-up -----------------------------------------------------------------------------


def prepare_database(env: dict[str, str]) -> float:
    started = time.perf_counter()
    recreate_database(env["DATABASE_URL"])
    flush_redis(env["REDIS_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    # DEBUG=0 serves hashed static names from the manifest; pages need it.
    call_command("collectstatic", verbosity=0, interactive=False)
    return time.perf_counter() - started


def seed(ctx: Context) -> float:
    from django.utils import timezone

    from org.demo import seed_demo
    from org.models import User
    from org.tokens import api_token_for

    started = time.perf_counter()
    seed_demo()
    users = {u.username: u for u in User.objects.filter(username__in=["pipeline", "dave"])}
    ctx.tokens = {name: api_token_for(user=user) for name, user in users.items()}
    template = started_template(author=users["pipeline"], operator=users["dave"])
    now = timezone.now()
    count = ACTIVE - 1 + WARMUP_ROLLBACKS + ROLLBACKS
    ids = [template.pk, *copy_started(template, count, now=now, first_number=1)]
    # The rollback targets are the extra wedges, so ACTIVE stay active throughout.
    ctx.active_ids = ids[:ACTIVE]
    ctx.rollback_ids = ids[ACTIVE:]
    ctx.proposals = len(ids)
    ctx.template = template
    return time.perf_counter() - started


# --- (a) Trigger to notification --------------------------------------------------------


def bench_rollbacks(ctx: Context, receiver: Any) -> tuple[float, float]:
    client = ctx.client()
    totals: list[float] = []
    requests: list[float] = []
    lost: list[int] = []
    for n, proposal_id in enumerate(ctx.rollback_ids):
        sent = time.perf_counter()
        status, body = client.json(
            "POST", f"/api/v1/proposals/{proposal_id}/metrics/", {"metrics": BREACHING}
        )
        answered = time.perf_counter()
        check(status == 200, (status, body))
        check(body["wedge_state"] == "ROLLED_BACK" and body["exposure_percentage"] == 0, body)
        arrival = receiver.wait_for("RWG-003", proposal_id, NOTIFY_TIMEOUT)
        if n < WARMUP_ROLLBACKS:
            continue
        if arrival is None:
            lost.append(proposal_id)
            continue
        totals.append(arrival.at - sent)
        requests.append(answered - sent)
    client.close()
    rollbacks = len(ctx.rollback_ids)
    deadline = time.monotonic() + NOTIFY_TIMEOUT
    while ctx.stack.mail_accepted() < rollbacks and time.monotonic() < deadline:
        time.sleep(0.05)
    emails = ctx.stack.mail_accepted()
    p50, p99 = percentile(totals, 0.50), percentile(totals, 0.99)
    how = (
        f"{len(totals)} rollbacks, one at a time, {ACTIVE:,} other wedges ACTIVE; clock starts "
        "before the POST /metrics/ of a breaching snapshot, stops when the local receiver has "
        "read the signed RWG-003 delivery (same process, perf_counter)"
    )
    section = "trigger -> notification"
    ctx.rows += [
        Row(section, "p50", ms(p50), how),
        Row(section, "p99", ms(p99), "same samples, nearest rank"),
        Row(
            section,
            "p99 target < 250 ms",
            "met" if p99 < TARGET_P99 else "MISSED",
            "issue #8's target for the p99 above",
        ),
        Row(
            section,
            "p99 target <= 50 ms",
            "met" if p99 <= TARGET_P99_SCALE else "MISSED",
            f"issue #15's target for the p99 above, with {ACTIVE:,} wedges active",
        ),
        Row(
            section,
            "p99 / policy's 60 s",
            f"{p99 / POLICY_SECONDS:.4%}",
            "INV-RWG-ROLLBACK allows 60 s from trigger to reverted-and-told",
        ),
        Row(section, "max", ms(max(totals)), "slowest of the measured rollbacks"),
        Row(
            section,
            "request alone p50 / p99",
            f"{ms(percentile(requests, 0.5))} / {ms(percentile(requests, 0.99))}",
            "POST /metrics/ round trip (snapshot stored, evaluated, rolled back, audited, "
            "outbox row written, task queued on commit)",
        ),
        Row(
            section,
            "lost / duplicated / bad signature",
            f"{len(lost)} / {receiver.duplicates + receiver.double_events} / "
            f"{receiver.bad_signatures}",
            f"no delivery within {NOTIFY_TIMEOUT:.0f} s / same delivery or event twice / "
            "HMAC check failed at the receiver",
        ),
        Row(
            section,
            "rollback emails accepted",
            f"{emails} of {rollbacks}",
            "by the loopback mail server (bench.mailbox): each rollback's email to its author "
            "and operators, sent from the web process after the commit",
        ),
    ]
    check(not lost, f"notifications lost for proposals {lost[:10]}")
    check(emails == rollbacks, f"{emails} rollback emails for {rollbacks} rollbacks")
    return p50, p99


def bench_floor_notification(ctx: Context, receiver: Any, trigger: tuple[float, float]) -> None:
    """The floor of trigger -> notification: a bare insert round trip plus a bare signed POST
    from the worker, each measured alone; Wedge's p50 and p99 as multiples of their sum."""
    from bench.floor import signed_post

    client = Http(ctx.stack.port)
    views: list[float] = []
    for n in range(FLOOR_SAMPLES + 5):
        began = time.perf_counter()
        status, _ = client.request("POST", "/bench/floor/", {"metrics": BREACHING})
        if n >= 5:
            views.append(time.perf_counter() - began)
        check(status == 200, status)
    client.close()
    posts: list[float] = []
    lost = 0
    for n in range(FLOOR_SAMPLES + 5):
        sent = time.perf_counter()
        signed_post.apply_async(args=(receiver.url, SECRET, n), queue="webhooks")
        arrival = receiver.wait_for("FLOOR", n, NOTIFY_TIMEOUT)
        if arrival is None:
            lost += 1
        elif n >= 5:
            posts.append(arrival.at - sent)
    check(not lost, f"{lost} floor POSTs never arrived")
    floor_p50 = percentile(views, 0.5) + percentile(posts, 0.5)
    floor_p99 = percentile(views, 0.99) + percentile(posts, 0.99)
    p50, p99 = trigger
    section = "trigger -> notification"
    ctx.rows += [
        Row(
            section,
            "floor: bare insert round trip p50 / p99",
            f"{ms(percentile(views, 0.5))} / {ms(percentile(views, 0.99))}",
            f"{FLOOR_SAMPLES} sequential POST /bench/floor/ on one keep-alive connection",
        ),
        Row(
            section,
            "floor: bare signed POST from the worker p50 / p99",
            f"{ms(percentile(posts, 0.5))} / {ms(percentile(posts, 0.99))}",
            f"{FLOOR_SAMPLES} tasks sent one at a time on the webhooks queue; each signs a "
            "small body (HMAC-SHA256, as deliveries are) and POSTs it once to the same receiver; "
            "from apply_async to the receiver holding it",
        ),
        Row(
            section,
            "p50 / p99 as multiples of the floor",
            f"{p50 / floor_p50:.1f}x / {p99 / floor_p99:.1f}x",
            f"floor = insert round trip + signed POST from the worker: {ms(floor_p50)} at p50, "
            f"{ms(floor_p99)} adding the p99s",
        ),
    ]


# --- (b) Snapshots per second beside a trivial GET ---------------------------------------


def _hammer(
    ctx: Context, make_request: Callable[[Http, int, int], int], seconds: float
) -> tuple[int, int, float, list[float]]:
    """CLIENTS threads, each on its own keep-alive connection, for ``seconds``."""
    ok = [0] * CLIENTS
    failed = [0] * CLIENTS
    latencies: list[list[float]] = [[] for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS + 1)
    stop_at: list[float] = []

    def run(index: int) -> None:
        client = ctx.client()
        client.request("GET", "/healthz")  # connect before the clock starts
        barrier.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            status = make_request(client, index, n)
            latencies[index].append(time.perf_counter() - began)
            if status == 200:
                ok[index] += 1
            else:
                failed[index] += 1
            n += 1
        client.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    stop_at.append(started + seconds)
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(ok), sum(failed), elapsed, [x for per in latencies for x in per]


def bench_throughput(ctx: Context) -> None:
    ids = ctx.active_ids

    def desired_state(client: Http, index: int, n: int) -> int:
        proposal_id = ids[(n * CLIENTS + index) % len(ids)]
        return client.request("GET", f"/api/v1/proposals/{proposal_id}/desired-state/")[0]

    def snapshot(client: Http, index: int, n: int) -> int:
        # Each client reports for its own wedges: like real deployers, no two
        # clients contend for one wedge's row lock.
        proposal_id = ids[(n * CLIENTS + index) % len(ids)]
        return client.request(
            "POST", f"/api/v1/proposals/{proposal_id}/metrics/", {"metrics": HEALTHY}
        )[0]

    def floor(client: Http, index: int, n: int) -> int:
        return client.request("POST", "/bench/floor/", {"metrics": HEALTHY})[0]

    floor_ok, floor_failed, floor_elapsed, floor_lat = _hammer(ctx, floor, THROUGHPUT_SECONDS)
    get_ok, get_failed, get_elapsed, get_lat = _hammer(ctx, desired_state, THROUGHPUT_SECONDS)
    post_ok, post_failed, post_elapsed, post_lat = _hammer(ctx, snapshot, THROUGHPUT_SECONDS)
    get_rate, post_rate = get_ok / get_elapsed, post_ok / post_elapsed
    floor_rate = floor_ok / floor_elapsed
    setup = (
        f"{CLIENTS} client threads on keep-alive connections for {THROUGHPUT_SECONDS:.0f} s, "
        f"gunicorn {ctx.stack.web_workers} workers x {ctx.stack.web_threads} threads, "
        "clients and server on the same 2 cores"
    )
    section = "snapshots vs GET"
    ctx.rows += [
        Row(
            section,
            "healthy snapshots accepted",
            f"{post_rate:,.0f} /s",
            f"POST /metrics/ (stored, evaluated, wedge updated) round-robin over {len(ids):,} "
            f"wedges; {setup}; {post_ok:,} answered 200, {post_failed} other; p50 "
            f"{ms(percentile(post_lat, 0.5))}, p99 {ms(percentile(post_lat, 0.99))}",
        ),
        Row(
            section,
            "authenticated GET desired-state",
            f"{get_rate:,.0f} /s",
            f"GET /desired-state/ with a token, same wedges and clients, run just before; "
            f"{get_ok:,} answered 200, {get_failed} other; p50 {ms(percentile(get_lat, 0.5))}, "
            f"p99 {ms(percentile(get_lat, 0.99))}",
        ),
        Row(
            section,
            f"ratio snapshot / GET (target >= {TARGET_RATIO})",
            f"{post_rate / get_rate:.2f} "
            f"({'met' if post_rate / get_rate >= TARGET_RATIO else 'MISSED'})",
            "what evaluating and storing a snapshot costs beside auth + one indexed read",
        ),
        Row(
            section,
            "floor: bare insert view",
            f"{floor_rate:,.0f} /s",
            f"POST /bench/floor/ (bench.floor: a plain Django view behind the same middleware, "
            f"no DRF, no token, one INSERT in one transaction), same clients and server, run "
            f"first; {floor_ok:,} answered 200, {floor_failed} other; p50 "
            f"{ms(percentile(floor_lat, 0.5))}",
        ),
        Row(
            section,
            "snapshot / floor, GET / floor",
            f"{post_rate / floor_rate:.2f} / {get_rate / floor_rate:.2f}",
            "each rate as a share of the bare insert's in the same run (1.00 = as cheap as the "
            "floor); the floor's cost is Django, gunicorn, PostgreSQL and the clients themselves",
        ),
    ]


# --- (e, HTTP) The dry run --------------------------------------------------------------


def bench_dry_run(ctx: Context) -> None:
    client = ctx.client()
    body = ten_stage_proposal()
    for _ in range(5):
        client.request("POST", "/api/v1/proposals/validate/", body)
    latencies = []
    for _ in range(DRY_RUNS):
        began = time.perf_counter()
        status, answer = client.json("POST", "/api/v1/proposals/validate/", body)
        latencies.append(time.perf_counter() - began)
        check(status == 200 and answer["valid"], (status, answer))
    client.close()
    ctx.rows.append(
        Row(
            "validation",
            "dry-run endpoint median",
            ms(statistics.median(latencies)),
            f"POST /api/v1/proposals/validate/ with a 10-stage proposal, {DRY_RUNS} sequential "
            f"requests on one keep-alive connection after 5 warm-ups; p99 "
            f"{ms(percentile(latencies, 0.99))}",
        )
    )


# --- (c) The beat tick, in process --------------------------------------------------------


def _make_due(proposal_ids: list[int]) -> None:
    """Open their stage 2 h ago with a fresh healthy snapshot: each tick must advance them.

    Their snapshots are marked as newer than what their ``due_at`` knows of (as
    a snapshot that arrived without moving its wedge is).
    """
    from django.utils import timezone

    from wedges.models import MetricSnapshot, RolloutWedge

    now = timezone.now()
    opened = now - timedelta(hours=2)
    RolloutWedge.objects.filter(proposal_id__in=proposal_ids).update(
        stage_opened_at=opened,
        window_ends_at=opened + timedelta(hours=1),
        pause_at=opened + timedelta(hours=3),
        due_at=opened + timedelta(hours=3),
        due_snapshot_id=0,
    )
    MetricSnapshot.objects.filter(wedge__proposal_id__in=proposal_ids).update(
        received_at=now - timedelta(seconds=30), values=HEALTHY, evidence={}
    )


def _open_all_stages(
    opened_ago: timedelta,
    *,
    due: str = "pause",
    snapshot_ago: timedelta,
    values: dict[str, Any] | None = None,
) -> None:
    """Every ACTIVE wedge's stage opened ``opened_ago``, as the engine stores it.

    ``due``: ``"pause"`` stores the pause moment as due (what the engine stores
    for a stage without evidence), ``"window"`` the window's end (what the
    migration stores for wedges that ran before ``due_at`` existed).
    """
    from django.db.models import F
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from wedges.models import MetricSnapshot, RolloutWedge, State

    now = timezone.now()
    opened = now - opened_ago
    window_end = opened + timedelta(hours=1)
    RolloutWedge.objects.filter(wedge_state=State.ACTIVE).update(
        stage_opened_at=opened,
        window_ends_at=window_end,
        pause_at=opened + timedelta(hours=3),
        due_at=opened + timedelta(hours=3) if due == "pause" else window_end,
        due_snapshot_id=Coalesce(F("latest_snapshot_id"), 0),
    )
    # No stored evidence: the engine reads each row's own values at its
    # received_at (as for rows from before evidence), so the times set here hold.
    changes: dict[str, Any] = {"received_at": now - snapshot_ago, "evidence": {}}
    if values is not None:
        changes["values"] = values
    MetricSnapshot.objects.update(**changes)


def _report_to_all(values: dict[str, Any]) -> tuple[int, float]:
    """A snapshot for every ACTIVE wedge through the service; how many, in how many seconds."""
    from wedges.models import RolloutWedge, State
    from wedges.services import wedge_record_snapshot

    ids = list(
        RolloutWedge.objects.filter(wedge_state=State.ACTIVE).values_list("proposal_id", flat=True)
    )
    began = time.perf_counter()
    for proposal_id in ids:
        wedge_record_snapshot(proposal_id=proposal_id, metrics=dict(values), actor=None)
    return len(ids), time.perf_counter() - began


def _tick() -> tuple[float, int, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wedges.services import wedges_tick

    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        report = wedges_tick()
        elapsed = time.perf_counter() - began
    return elapsed, len(queries), report


def _ticks(expected_examined: int | None) -> list[tuple[float, int, Any]]:
    ticks = [_tick() for _ in range(TICK_RUNS)]
    for _, _, report in ticks:
        check(not report.actions and not report.failed, report)
        if expected_examined is not None:
            check(report.examined == expected_examined, (report, expected_examined))
    return ticks


def _median_ms(ticks: list[tuple[float, int, Any]]) -> str:
    return f"{ms(statistics.median(t for t, _, _ in ticks))}, {max(c for _, c, _ in ticks)} queries"


UNMET: dict[str, Any] = {"error_rate": 0.02, "p99": "180ms"}  # criteria unmet, trigger quiet


def bench_tick(ctx: Context, size: int, due_ids: list[int], *, catch_up: bool) -> tuple[int, int]:
    from wedges.models import RolloutWedge, State

    running = RolloutWedge.objects.filter(wedge_state__in=[State.ACTIVE, State.PAUSED]).count()
    check(running == size, (running, size))
    section = "beat tick"
    how = (
        f"wedges_tick() in this process against the bench database under "
        f"CaptureQueriesContext; median of {TICK_RUNS} ticks"
    )
    _open_all_stages(timedelta(minutes=1), snapshot_ago=timedelta(minutes=2))
    inside = _ticks(0)
    # The target case: every window over, nothing able to move (no evidence from
    # this stage), each wedge's due time stored by the engine: the pause.
    _open_all_stages(timedelta(minutes=61), snapshot_ago=timedelta(hours=2))
    past = _ticks(0)
    ctx.rows += [
        Row(
            section,
            f"{size:,} active, all inside their window",
            _median_ms(inside),
            f"{how}; nothing can move before a window ends, and the database says none is due",
        ),
        Row(
            section,
            f"{size:,} active, all past their window, none able to move",
            _median_ms(past),
            f"{how}; windows ended a minute ago, no snapshot from this stage: each wedge's "
            "stored due time is its pause moment (3 x the window), so the tick reads none "
            "(target <= 200 ms, <= 5 queries)",
        ),
    ]
    if catch_up:
        # Every window ending at once with due times at the window's end (as the
        # migration stores them): the first tick reads and decides each wedge once.
        _open_all_stages(timedelta(minutes=61), due="window", snapshot_ago=timedelta(hours=2))
        first = _tick()
        check(first[2].examined == size and not first[2].actions, first[2])
        then = _ticks(0)
        # Fresh evidence that meets nothing new (criteria unmet, trigger quiet),
        # reported through the service as agents report it: each snapshot
        # stores its wedge's next due time, so the ticks after it read none.
        _open_all_stages(timedelta(minutes=90), snapshot_ago=timedelta(hours=2))
        recorded, recording = _report_to_all(UNMET)
        unmet_then = _ticks(0)
        ctx.rows += [
            Row(
                section,
                f"{size:,} past their window, due times at the window's end: first tick",
                f"{ms(first[0])}, {first[1]} queries",
                "each wedge read and decided once, its next due time (the pause) stored in one "
                "UPDATE ... FROM unnest(); happens once after the migration, or when every "
                "window ends at the same moment",
            ),
            Row(
                section,
                f"{size:,} past their window: the ticks after it",
                _median_ms(then),
                f"{how}; the due times the first tick stored say none is due",
            ),
            Row(
                section,
                f"{size:,} with a new unmet snapshot each: the ticks after",
                _median_ms(unmet_then),
                f"every wedge past its window got a fresh unmet snapshot through "
                f"wedge_record_snapshot ({recorded:,} in {recording:.1f} s in this process), "
                "which stored the pause moment as its due time: the tick reads none",
            ),
        ]
    _open_all_stages(timedelta(minutes=1), snapshot_ago=timedelta(minutes=2), values=HEALTHY)
    _make_due(due_ids)
    due_elapsed, due_queries, due_report = _tick()
    check(due_report.actions == {"advance": len(due_ids)}, due_report)
    idle_queries = max(count for _, count, _ in [*inside, *past])
    ctx.rows.append(
        Row(
            section,
            f"{size:,} active, {len(due_ids)} due",
            f"{ms(due_elapsed)}, {due_queries} queries",
            f"one tick after {len(due_ids)} wedges were made eligible (window elapsed, fresh "
            f"healthy snapshot; the others inside their window): each advanced under its "
            f"row lock with its audit event and outbox rows",
        ),
    )
    return idle_queries, due_queries


# --- (d) The proposal list at 100,000 proposals ---------------------------------------------


def bench_lists(ctx: Context) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from org.models import User
    from wedges.models import ChangeProposal

    total = ChangeProposal.objects.count()
    dave = User.objects.get(username="dave")
    browser = Client()
    browser.force_login(dave)  # a real session row, which gunicorn's workers read too
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {ctx.tokens['dave']}")

    targets: list[tuple[str, str, Any, dict[str, str]]] = [
        ("list page /proposals/", "/proposals/", browser, {"Cookie": cookie}),
        (
            "list API /api/v1/proposals/",
            "/api/v1/proposals/",
            api,
            {"Authorization": f"Token {ctx.tokens['dave']}"},
        ),
    ]
    for name, path, in_process, headers in targets:
        in_process.get(path)  # warm caches before counting
        with CaptureQueriesContext(connection) as queries:
            answer = in_process.get(path)
        check(answer.status_code == 200, answer.status_code)
        client = Http(ctx.stack.port, headers)
        for _ in range(3):
            client.request("GET", path)
        latencies = []
        size = 0
        for _ in range(PAGE_REQUESTS):
            began = time.perf_counter()
            status, body = client.request("GET", path)
            latencies.append(time.perf_counter() - began)
            check(status == 200, (status, body[:300]))
            size = len(body)
        client.close()
        ctx.rows.append(
            Row(
                "lists",
                name,
                f"{ms(statistics.median(latencies))}, {len(queries)} queries",
                f"{total:,} proposals; first page ({size / 1024:,.0f} KiB) via gunicorn, "
                f"{PAGE_REQUESTS} sequential requests, median (p90 "
                f"{ms(percentile(latencies, 0.9))}); queries counted in process with "
                "CaptureQueriesContext, session/token auth included",
            )
        )


# --- The run ------------------------------------------------------------------------------


def run(*, only_ingest: bool = False) -> list[Row]:
    """Every figure; ``only_ingest``: the rollbacks, their floor and the throughput alone."""
    env = configure_environment()
    database = env["DATABASE_URL"].rsplit("@", 1)[-1]
    print(
        f"bench_stack: database {database} (dropped and re-created), Redis {env['REDIS_URL']}",
        flush=True,
    )
    prepared = prepare_database(env)
    from bench.floor import create_table

    create_table()
    stack = Stack()
    ctx = Context(stack=stack, tokens={})
    seeded = seed(ctx)
    print(
        f"bench_stack: migrated + collectstatic in {prepared:.1f} s; seeded {ctx.proposals:,} "
        f"started wedges in {seeded:.1f} s",
        flush=True,
    )

    from bench.receiver import timed_receiver
    from org.models import User
    from webhooks.services import subscription_create

    with timed_receiver(SECRET) as receiver:
        subscription_create(
            actor=User.objects.get(username="dave"),
            url=receiver.url,
            secret=SECRET,
            events=["RWG-003"],
        )
        try:
            stack.start_mail()
            stack.start_web()
            stack.start_worker()
            stack.start_beat()
            stack.wait_until_ready()
            print(
                f"bench_stack: gunicorn on {stack.base_url} ({stack.web_workers} workers x "
                f"{stack.web_threads} threads), Celery worker (concurrency "
                f"{stack.worker_concurrency}) and beat are up",
                flush=True,
            )
            trigger = bench_rollbacks(ctx, receiver)
            bench_floor_notification(ctx, receiver, trigger)
            print("bench_stack: rollbacks and their floor measured", flush=True)
            bench_throughput(ctx)
            print("bench_stack: throughput measured", flush=True)
            if only_ingest:
                return ctx.rows
            bench_dry_run(ctx)
            ctx.rows += bench_gates(stack.port, ctx.tokens["pipeline"], ctx.active_ids[1])
            print("bench_stack: gates measured", flush=True)
            stack.check_alive()
            # Beat stops here: its own 5 s tick over 100,000 wedges would compete
            # with the in-process tick and the page timings below.
            stack.stop("beat")

            small, large = TICK_SIZES
            from django.utils import timezone

            more = copy_started(
                ctx.template,
                small - ctx.proposals + ROLLBACKS + WARMUP_ROLLBACKS,
                now=timezone.now(),
                first_number=ctx.proposals,
            )
            ctx.proposals += len(more)
            small_ids = ctx.active_ids + more
            idle_small, due_small = bench_tick(ctx, small, small_ids[:DUE_PER_TICK], catch_up=True)
            more = copy_started(
                ctx.template,
                large - small,
                now=timezone.now(),
                first_number=ctx.proposals,
            )
            ctx.proposals += len(more)
            idle_large, due_large = bench_tick(ctx, large, more[:DUE_PER_TICK], catch_up=False)
            grows = idle_large != idle_small or due_large != due_small
            ctx.rows.append(
                Row(
                    "beat tick",
                    "query count grows with wedges?",
                    "YES" if grows else "no",
                    f"nothing due: {idle_small} vs {idle_large} queries; {DUE_PER_TICK} due: "
                    f"{due_small} vs {due_large} (the per-transition queries are constant)",
                )
            )
            print("bench_stack: ticks measured", flush=True)
            bench_lists(ctx)
            stack.check_alive()
        finally:
            stack.stop_all()
    return ctx.rows


def main() -> None:
    parser = argparse.ArgumentParser(description="The rollout engine on the real stack.")
    parser.add_argument(
        "--only-ingest",
        action="store_true",
        help="measure trigger -> notification, its floor and the throughput only",
    )
    rows = run(only_ingest=parser.parse_args().only_ingest)
    sections: dict[str, list[Row]] = {}
    for row in rows:
        sections.setdefault(row.section, []).append(row)
    for title, section_rows in sections.items():
        print_rows(title, section_rows)


if __name__ == "__main__":
    main()
