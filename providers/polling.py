"""Polling the metric providers: a round claims due wedges, asks, and records.

Every ``WEDGE_METRICS_POLL_SECONDS`` beat sends ``providers.tasks.poll``, which
claims the due wedges in batches of at most ``WEDGE_METRICS_BATCH`` and sends
one batch task each on the ``metrics`` queue, so every worker process (and
every worker machine) of that pool takes a share. Each batch is a round:

1. **Claims**: the running wedges that are due and not leased, under
   ``SELECT ... FOR UPDATE SKIP LOCKED``, are leased under a claim; a batch
   polls only what its claim still holds, so no two batches ever poll one
   wedge at once, a wedge waiting in a queued batch is not claimed again by
   the next tick, and the lease of a batch that was lost runs out.
2. **Asks** every query of every claimed wedge at once, each provider through
   its own pool of at most ``max_concurrency`` threads and its own HTTP
   connections, each query bounded by the provider's timeout. One slow or
   dead provider holds only its own pool: the others' wedges complete and are
   recorded meanwhile. A query still waiting for its provider when the
   round's time is up is not sent (``no_time_left``): it is no failure of the
   provider, so nothing is recorded for it and its wedge is due again at once.
3. **Records** each wedge as soon as all its answers are in, on one of
   ``WEDGE_METRICS_RECORDERS`` threads: the values go through
   ``wedges.services.wedge_record_snapshot`` like a push (same decisions,
   locks, audit events and webhooks), then the failure count, the failing and
   recovered events and, at the limit, the system hold — one transaction a wedge.

The kinds of provider (``providers.kinds``) only answer single queries; the
fan-out, the bounds and the failure counting are here, once.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import requests
from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone
from requests.adapters import HTTPAdapter

from providers import kinds
from providers.config import ProviderConfig, configured
from providers.kinds import QueryFailed, Reading
from providers.models import PolledWedge
from wedges.models import State, WedgeStage
from wedges.policy import codes as policy_codes
from wedges.policy.queries import render

log = logging.getLogger(__name__)

RUNNING: Final = (State.ACTIVE, State.PAUSED)
MAX_PER_ROUND: Final = 10_000
SKIPPED: Final = QueryFailed.NO_TIME
# Beyond a round's time and one more timeout (the last queries sent): time to
# record the answers before another round may claim the wedge again.
LEASE_MARGIN: Final = timedelta(seconds=30)


@dataclass(frozen=True)
class Job:
    """One claimed wedge: what to ask, the values its variables take, its last state."""

    wedge_id: int
    proposal_id: int
    queries: dict[str, dict[str, str]]
    variables: dict[str, object]
    state: dict[str, dict[str, Any]]
    failing_since: datetime | None
    next_poll_at: datetime
    claimed_at: datetime


@dataclass(frozen=True)
class Answer:
    """One query's outcome: a reading, or the failure that stands for it."""

    metric: str
    provider: str
    rendered: str
    reading: Reading | None = None
    error: QueryFailed | None = None


@dataclass
class RoundReport:
    claimed: int = 0
    recorded: int = 0
    queries: int = 0
    failed_queries: int = 0
    skipped_queries: int = 0  # not sent before the round's time ran out
    actions: dict[str, int] = field(default_factory=dict)
    failed_wedges: list[int] = field(default_factory=list)  # proposal ids whose recording raised
    seconds: float = 0.0

    def count(self, action: str | None) -> None:
        if action:
            self.actions[action] = self.actions.get(action, 0) + 1


Recorder = Callable[[Job, list[Answer]], str | None]


def round_seconds(providers: Iterable[ProviderConfig]) -> float:
    """How long a round may send queries: the interval, or the longest timeout if longer."""
    timeouts = [provider.timeout_seconds for provider in providers]
    return max(settings.WEDGE_METRICS_POLL_SECONDS, *timeouts, 1.0)


def poll_round(
    *,
    now: datetime | None = None,
    limit: int = MAX_PER_ROUND,
    recorders: int | None = None,
    record: Recorder | None = None,
    claimed: tuple[list[int], uuid.UUID] | None = None,
) -> RoundReport:
    """Poll due wedges once; see the module docstring.

    ``claimed``: the ids and the claim a fan-out took for this batch; only
    those the claim still holds are polled. Without it the round claims up to
    ``limit`` due wedges itself.
    """
    from providers.services import record_poll

    began = time.monotonic()
    now = now or timezone.now()
    report = RoundReport()
    providers = configured()
    lease = now + round_lease(providers.values())
    if claimed is None:
        ids = claim(now=now, lease_until=lease, limit=limit)
    else:
        ids = take_over(*claimed, now=now, lease_until=lease)
    jobs = load_jobs(ids, now=now)
    report.claimed = len(jobs)
    if not jobs:
        report.seconds = time.monotonic() - began
        return report
    recorder = record or record_poll
    completed: queue.Queue[tuple[Job, list[Answer]] | None] = queue.Queue()
    with _Fanout(providers, deadline=began + round_seconds(providers.values())) as fanout:
        for job in jobs:
            fanout.ask(job, lambda job, answers: completed.put((job, answers)))
        _record_all(completed, len(jobs), recorder, report, recorders)
    report.seconds = time.monotonic() - began
    return report


# --- 1. Claiming -----------------------------------------------------------------------


def due(now: datetime) -> Any:
    """The running wedges with queries that are due and not leased."""
    return PolledWedge.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lte=now),
        wedge__wedge_state__in=RUNNING,
        next_poll_at__lte=now,
    )


def round_lease(providers: Iterable[ProviderConfig]) -> timedelta:
    """How long a round holds its wedges: its time to ask, one more timeout, and a margin."""
    configs = list(providers)
    longest = max((p.timeout_seconds for p in configs), default=0.0)
    return timedelta(seconds=round_seconds(configs) + longest) + LEASE_MARGIN


def claim(
    *,
    now: datetime,
    lease_until: datetime,
    limit: int = MAX_PER_ROUND,
    token: uuid.UUID | None = None,
) -> list[int]:
    """Lease up to ``limit`` due wedges (oldest due first) under claim ``token``; their ids.

    ``SKIP LOCKED``: two claims at once take disjoint sets, and the lease keeps
    a claimed wedge from every later claim until it is released or runs out.
    """
    with transaction.atomic():
        ids = list(
            due(now)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("next_poll_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            PolledWedge.objects.filter(pk__in=ids).update(
                lease_until=lease_until, claim=token or uuid.uuid4()
            )
    return ids


def take_over(
    ids: list[int], token: uuid.UUID, *, now: datetime, lease_until: datetime
) -> list[int]:
    """The wedges of ``ids`` that claim ``token`` still holds, leased anew for this round.

    A batch that waited in the queue past its lease may find some taken by a
    later claim: those it leaves to that claim, so no wedge is polled twice.
    """
    with transaction.atomic():
        held = list(
            PolledWedge.objects.select_for_update(of=("self",))
            .filter(pk__in=ids, claim=token, lease_until__gt=now)
            .values_list("pk", flat=True)
        )
        if held:
            PolledWedge.objects.filter(pk__in=held).update(lease_until=lease_until)
    return held


def load_jobs(ids: list[int], *, now: datetime) -> list[Job]:
    """The claimed wedges with what their queries' variables stand for (two queries)."""
    if not ids:
        return []
    rows = PolledWedge.objects.filter(pk__in=ids).select_related("wedge__proposal__subsystem")
    stage_ids = {
        (wedge_id, position): stage_id
        for wedge_id, position, stage_id in WedgeStage.objects.filter(wedge_id__in=ids).values_list(
            "wedge_id", "position", "stage_id"
        )
    }
    interval = timedelta(seconds=settings.WEDGE_METRICS_POLL_SECONDS)
    jobs = []
    for row in rows:
        wedge = row.wedge
        proposal = wedge.proposal
        index = wedge.current_stage_index
        stage = (
            policy_codes.INITIAL_STAGE_ID
            if index == policy_codes.INITIAL_STAGE_INDEX
            else stage_ids.get((wedge.pk, index or 0), "")
        )
        jobs.append(
            Job(
                wedge_id=wedge.pk,
                proposal_id=proposal.pk,
                queries=row.queries,
                variables={
                    "proposal_id": proposal.pk,
                    "stage_id": stage,
                    "exposure_percentage": wedge.exposure_percentage,
                    "subsystem": proposal.subsystem.slug,
                    "external_reference": proposal.external_reference,
                },
                state=row.state,
                failing_since=row.failing_since,
                # A steady cadence: the next round after this one, not after recording.
                next_poll_at=now + interval,
                claimed_at=now,
            )
        )
    return jobs


# --- 2. Asking -------------------------------------------------------------------------


class _Fanout:
    """Each provider's own thread pool and HTTP session, for one round."""

    def __init__(self, providers: dict[str, ProviderConfig], *, deadline: float) -> None:
        self.providers = providers
        self.deadline = deadline
        self.pools: dict[str, ThreadPoolExecutor] = {}
        self.clients: dict[str, kinds.Kind] = {}
        self.sessions: list[requests.Session] = []

    def __enter__(self) -> _Fanout:
        return self

    def __exit__(self, *exc: object) -> None:
        for pool in self.pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        for session in self.sessions:
            session.close()

    def _client(self, config: ProviderConfig) -> tuple[ThreadPoolExecutor, kinds.Kind]:
        if config.name not in self.pools:
            session = requests.Session()
            # Private metric backends are reached directly: no proxy from the environment.
            session.trust_env = False
            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=config.max_concurrency)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self.sessions.append(session)
            self.pools[config.name] = ThreadPoolExecutor(
                max_workers=config.max_concurrency, thread_name_prefix=f"metrics-{config.name}"
            )
            self.clients[config.name] = kinds.build(config, session)
        return self.pools[config.name], self.clients[config.name]

    def ask(self, job: Job, done: Callable[[Job, list[Answer]], None]) -> None:
        """Send every query of ``job``; ``done(job, answers)`` once the last has answered."""
        answers: list[Answer] = []
        pending = [len(job.queries)]
        lock = threading.Lock()

        def answered(answer: Answer) -> None:
            with lock:
                answers.append(answer)
                pending[0] -= 1
                last = pending[0] == 0
            if last:
                done(job, answers)

        if not job.queries:
            done(job, [])
            return
        for metric, spec in job.queries.items():
            provider = str(spec.get("provider", ""))
            try:
                rendered = render(str(spec.get("query", "")), job.variables)
            except ValueError as exc:
                failure = QueryFailed(QueryFailed.RENDER, f"the query cannot be rendered: {exc}")
                answered(Answer(metric, provider, str(spec.get("query", "")), error=failure))
                continue
            config = self.providers.get(provider)
            if config is None:
                failure = QueryFailed(
                    QueryFailed.UNKNOWN_PROVIDER, f"no metric provider {provider!r} is configured"
                )
                answered(Answer(metric, provider, rendered, error=failure))
                continue
            pool, client = self._client(config)
            future = pool.submit(self._query, client, config, rendered)
            future.add_done_callback(
                functools.partial(_on_answer, answered, metric, provider, rendered)
            )

    def _query(self, client: kinds.Kind, config: ProviderConfig, text: str) -> Reading:
        if time.monotonic() > self.deadline:
            raise QueryFailed(
                QueryFailed.NO_TIME,
                f"{config.name} was still busy with other queries when the poll round ended "
                f"(at most {config.max_concurrency} at once, {config.timeout_seconds:g} s each)",
            )
        return client.query(text, timezone.now())


def _on_answer(
    answered: Callable[[Answer], None],
    metric: str,
    provider: str,
    rendered: str,
    future: Future[Reading],
) -> None:
    answered(_answer(future, metric, provider, rendered))


def _answer(future: Future[Reading], metric: str, provider: str, rendered: str) -> Answer:
    try:
        return Answer(metric, provider, rendered, reading=future.result())
    except QueryFailed as failure:
        return Answer(metric, provider, rendered, error=failure)
    except Exception as exc:  # a bug in a kind must not lose the wedge's round
        log.exception("metric provider %s raised on a query", provider)
        return Answer(
            metric,
            provider,
            rendered,
            error=QueryFailed(QueryFailed.BAD_RESPONSE, f"{type(exc).__name__}: {exc}"[:300]),
        )


# --- 3. Recording ----------------------------------------------------------------------


def _record_all(
    completed: queue.Queue[tuple[Job, list[Answer]] | None],
    total: int,
    recorder: Recorder,
    report: RoundReport,
    recorders: int | None,
) -> None:
    count = settings.WEDGE_METRICS_RECORDERS if recorders is None else recorders
    lock = threading.Lock()

    def record_one(job: Job, answers: list[Answer]) -> None:
        try:
            action = recorder(job, answers)
        except Exception:
            log.exception("recording the metrics of proposal %s failed", job.proposal_id)
            _release(job)
            with lock:
                report.failed_wedges.append(job.proposal_id)
            return
        skipped = sum(1 for a in answers if a.error is not None and a.error.code == SKIPPED)
        with lock:
            report.recorded += 1
            report.queries += len(answers) - skipped
            report.skipped_queries += skipped
            report.failed_queries += sum(1 for a in answers if a.error is not None) - skipped
            report.count(action)

    if count == 0:
        for _ in range(total):
            item = completed.get()
            assert item is not None
            record_one(*item)
        return

    # This thread hands each wedge on as its answers complete; it knows the
    # last one has come when it has taken ``total``, and only then stops the
    # recorders (a query's future is done a moment before its callback runs).
    work: queue.Queue[tuple[Job, list[Answer]] | None] = queue.Queue()

    def recorder_loop() -> None:
        try:
            while (item := work.get()) is not None:
                record_one(*item)
        finally:
            connections.close_all()  # this thread's own connections

    threads = [
        threading.Thread(target=recorder_loop, name=f"metrics-recorder-{n}", daemon=True)
        for n in range(min(count, total))
    ]
    for thread in threads:
        thread.start()
    for _ in range(total):
        work.put(completed.get())
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join()


def _release(job: Job) -> None:
    """Give a wedge back after its recording failed, so the next round tries again."""
    try:
        PolledWedge.objects.filter(pk=job.wedge_id).update(
            lease_until=None, claim=None, next_poll_at=job.next_poll_at
        )
    except Exception:
        log.exception("could not release the metric poll of proposal %s", job.proposal_id)
