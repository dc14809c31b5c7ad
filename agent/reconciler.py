"""Bring HAProxy to each followed proposal's desired state, and tell Wedge what it has.

Rules, in the order a reader needs them:

* ``desired-state/`` is the authority. A verified webhook makes the agent read
  it at once (with ``If-None-Match``); Wedge sends a webhook only after the
  change committed, so that read is at least as new as the event. Events and
  polls are handled one at a time on one thread, so reads apply in order.
* Only when Wedge does not answer is a webhook's own content applied, and only
  if it is newer (``occurred_at``) than every event seen for the proposal and
  the proposal is not already ROLLED_BACK or COMPLETE, states a wedge never
  leaves. An older event is never applied: at best it is a reason to re-read.
* When Wedge is unreachable the agent holds what it applied, keeps HAProxy
  there (putting back weights someone changed), and says so in the log and on
  ``/healthz``.
* Weights are set only when they differ (idempotent), then read back; the
  exposure reported to Wedge is the read-back one, never the intended one.
  If HAProxy does not answer nothing is reported; the agent retries.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.config import Follow
from agent.haproxy import HAProxyError, RuntimeAPI
from agent.logs import EventLog, number
from agent.webhook import Event
from agent.wedge import RUNNING_STATES, DesiredState, WedgeClient, WedgeRefused, WedgeUnavailable
from agent.weights import Split, exposure_of, split_for


@dataclass(frozen=True)
class Reading:
    """Weights as HAProxy has them, and the share of traffic they give the canary."""

    split: Split
    exposure: float


@dataclass
class Track:
    """What the agent knows about one followed proposal."""

    follow: Follow
    desired: DesiredState | None = None
    etag: str | None = None
    newest_event_at: datetime | None = None
    applied: Reading | None = None
    reported: tuple[str | None, float] | None = None  # (stage, exposure) Wedge has from us
    wedge_error: str | None = None
    wedge_problem: str | None = None
    haproxy_error: str | None = None
    # What asked for the change not yet applied: for the log line and its latency.
    cause: str | None = None
    cause_event: Event | None = None

    @property
    def report_due(self) -> bool:
        return (
            self.desired is not None
            and self.desired.wedge_state in RUNNING_STATES
            and self.applied is not None
            and self.reported != (self.desired.stage_id, self.applied.exposure)
        )

    @property
    def pending(self) -> bool:
        return self.haproxy_error is not None or self.report_due


class Reconciler:
    def __init__(
        self,
        follows: tuple[Follow, ...],
        wedge: WedgeClient,
        haproxy: RuntimeAPI,
        log: EventLog,
    ) -> None:
        self.tracks = {follow.proposal: Track(follow) for follow in follows}
        self.wedge = wedge
        self.haproxy = haproxy
        self.log = log
        self._status: tuple[bool, dict[str, Any]] = (False, {"proposals": {}})
        self._publish()

    # --- What the loop calls ----------------------------------------------------------------

    def reconcile_all(self, *, source: str) -> None:
        """Read every proposal's desired state (if Wedge answers) and converge HAProxy to it."""
        for track in self.tracks.values():
            before = track.desired
            self._read(track)
            if track.desired is not None and track.desired != before and track.cause is None:
                track.cause = source
            self._converge(track)
        self._publish()

    def handle(self, event: Event) -> None:
        track = self.tracks.get(event.proposal)
        if track is None:
            return
        older = track.newest_event_at is not None and event.occurred_at <= track.newest_event_at
        if older:
            self.log.info(
                "webhook_out_of_order",
                proposal=event.proposal,
                code=event.code,
                delivery=event.delivery,
                occurred_at=event.occurred_at.isoformat(),
                newest_seen=track.newest_event_at.isoformat() if track.newest_event_at else None,
                action="re-reading desired-state",
            )
        else:
            track.newest_event_at = event.occurred_at
        # What a re-read brings after an older event is not that event's doing.
        cause: tuple[str, Event | None] = ("desired-state", None) if older else ("webhook", event)
        if not self._read(track):
            final = track.desired.wedge_state if track.desired and track.desired.final else None
            if older or final:
                self.log.warning(
                    "webhook_not_applied",
                    proposal=event.proposal,
                    code=event.code,
                    delivery=event.delivery,
                    reason="older than an event already seen" if older else f"wedge is {final}",
                    holding=_exposure(track),
                )
                self._publish()
                return
            # Signed, fresh and newer than anything seen: trusted while Wedge is silent.
            self.log.info(
                "webhook_applied_without_wedge",
                proposal=event.proposal,
                code=event.code,
                delivery=event.delivery,
                reason="desired-state unreachable; the signed event is the newest known",
            )
            track.desired, track.etag = event.state, None
        track.cause, track.cause_event = cause
        self._converge(track)
        self._publish()

    def retry(self) -> None:
        """Try again what is pending: weights HAProxy did not take, reports Wedge did not get."""
        for track in self.tracks.values():
            if track.pending:
                self._converge(track)
        self._publish()

    @property
    def pending(self) -> bool:
        return any(track.pending for track in self.tracks.values())

    def run(
        self,
        events: queue.Queue[Event | None],
        stop: threading.Event,
        *,
        poll_seconds: float,
        retry_seconds: float,
    ) -> None:
        """Reconcile on start, then events as they come, a poll every ``poll_seconds``.

        A ``None`` on the queue only wakes the loop (to notice ``stop``).
        """
        self.reconcile_all(source="start")
        next_poll = time.monotonic() + poll_seconds
        while not stop.is_set():
            now = time.monotonic()
            wake = min(next_poll, now + retry_seconds) if self.pending else next_poll
            try:
                event = events.get(timeout=max(wake - now, 0.0))
            except queue.Empty:
                event = None
            if stop.is_set():
                break
            if event is not None:
                self.handle(event)
            elif time.monotonic() >= next_poll:
                self.reconcile_all(source="poll")
                next_poll = time.monotonic() + poll_seconds
            else:
                self.retry()

    def status(self) -> tuple[bool, dict[str, Any]]:
        """Healthy or not, and why: safe to call from another thread."""
        return self._status

    # --- Steps --------------------------------------------------------------------------

    def _read(self, track: Track) -> bool:
        """Refresh ``track.desired`` from Wedge; whether Wedge answered."""
        proposal = track.follow.proposal
        try:
            fetched = self.wedge.desired_state(proposal, track.etag)
        except (WedgeUnavailable, WedgeRefused) as exc:
            self._wedge_failed(track, exc)
            return False
        self._wedge_answered(track)
        if fetched is not None:
            track.desired, track.etag = fetched.state, fetched.etag
        return True

    def _converge(self, track: Track) -> None:
        desired = track.desired
        if desired is None:
            return  # nothing known yet: HAProxy stays as it is
        follow = track.follow
        target = split_for(desired.exposure_percentage)
        try:
            before = self._reading(follow)
            after = before
            if before.split != target:
                # Canary first: lowering it takes effect at once, and either
                # order keeps every intermediate share between old and new.
                if before.split.canary != target.canary:
                    self.haproxy.set_weight(follow.backend, follow.canary, target.canary)
                if before.split.stable != target.stable:
                    self.haproxy.set_weight(follow.backend, follow.stable, target.stable)
                after = self._reading(follow)
        except HAProxyError as exc:
            if track.haproxy_error != str(exc):
                self.log.error(
                    "haproxy_unreachable",
                    proposal=follow.proposal,
                    backend=follow.backend,
                    error=str(exc),
                    action="retrying; no exposure is reported until HAProxy answers",
                )
            track.haproxy_error, track.applied = str(exc), None
            return
        if track.haproxy_error is not None:
            self.log.info("haproxy_reachable", proposal=follow.proposal, backend=follow.backend)
            track.haproxy_error = None
        track.applied = after
        if after.split != before.split:
            self._log_applied(track, before, after)
        if after.split != target:
            self.log.warning(
                "weights_differ",
                proposal=follow.proposal,
                backend=follow.backend,
                wanted=str(target),
                has=str(after.split),
            )
        track.cause, track.cause_event = None, None
        self._report(track)

    def _reading(self, follow: Follow) -> Reading:
        servers = self.haproxy.servers(follow.backend)
        for name in (follow.canary, follow.stable):
            if name not in servers:
                raise HAProxyError(f"backend {follow.backend} has no server {name}")
        canary = servers[follow.canary]
        # The canary's share is of everything the backend serves, not only of
        # the stable server: reality, including a stable server in maintenance.
        rest = sum(s.traffic_weight for s in servers.values() if s.name != follow.canary)
        split = Split(canary=canary.weight, stable=servers[follow.stable].weight)
        return Reading(split, exposure_of(canary.traffic_weight, rest))

    def _report(self, track: Track) -> None:
        if not track.report_due:
            return
        assert track.desired is not None
        assert track.applied is not None
        proposal, stage, exposure = (
            track.follow.proposal,
            track.desired.stage_id,
            track.applied.exposure,
        )
        try:
            after = self.wedge.report_exposure(proposal, exposure)
        except WedgeUnavailable as exc:
            self._wedge_failed(track, exc)
            return  # still due: retried
        except WedgeRefused as exc:
            track.reported = (stage, exposure)
            if exc.status == 409:  # the wedge stopped running meanwhile
                self.log.info("report_not_taken", proposal=proposal, reason=str(exc))
            else:
                self.log.error("report_refused", proposal=proposal, error=str(exc))
            return
        self._wedge_answered(track)
        track.reported = (stage, exposure)
        self.log.info("reported", proposal=proposal, stage=stage, exposure_percentage=exposure)
        if after is not None and after != track.desired:
            # The snapshot moved the wedge (a blast-radius breach rolls it back):
            # Wedge has just said what it wants now, so apply it now.
            track.desired, track.etag = after, None
            track.cause = "report"
            self._converge(track)

    # --- Saying what happened ----------------------------------------------------------------

    def _log_applied(self, track: Track, before: Reading, after: Reading) -> None:
        assert track.desired is not None
        event = track.cause_event
        fields: dict[str, Any] = {
            "proposal": track.follow.proposal,
            "stage": track.desired.stage_id,
            "wedge_state": track.desired.wedge_state,
            "desired": track.desired.exposure_percentage,
            "exposure": f"{number(before.exposure)}->{number(after.exposure)}",
            "canary_weight": f"{before.split.canary}->{after.split.canary}",
            "stable_weight": f"{before.split.stable}->{after.split.stable}",
            "source": track.cause or "reconcile",
        }
        if event is not None:
            latency = datetime.now(UTC) - event.occurred_at
            fields["code"] = event.code
            fields["delivery"] = event.delivery
            fields["latency_ms"] = round(latency.total_seconds() * 1000)
        self.log.info("applied", **fields)

    def _wedge_failed(self, track: Track, exc: Exception) -> None:
        # Logged when the failure starts or changes kind: a connection error's
        # text differs on every attempt, and Wedge may be down for a while.
        kind = f"{type(exc).__name__}:{getattr(exc, 'status', '')}"
        if track.wedge_error is None or track.wedge_problem != kind:
            (self.log.error if isinstance(exc, WedgeRefused) else self.log.warning)(
                "wedge_refused" if isinstance(exc, WedgeRefused) else "wedge_unreachable",
                proposal=track.follow.proposal,
                error=str(exc),
                holding=_exposure(track),
            )
        track.wedge_error, track.wedge_problem = str(exc), kind

    def _wedge_answered(self, track: Track) -> None:
        if track.wedge_error is not None:
            self.log.info("wedge_reachable", proposal=track.follow.proposal)
            track.wedge_error = track.wedge_problem = None

    def _publish(self) -> None:
        proposals = {}
        healthy = True
        for proposal, track in self.tracks.items():
            desired, applied = track.desired, track.applied
            ok = (
                desired is not None
                and track.wedge_error is None
                and track.haproxy_error is None
                and applied is not None
            )
            healthy = healthy and ok
            proposals[str(proposal)] = {
                "ok": ok,
                "wedge_state": desired.wedge_state if desired else None,
                "stage_id": desired.stage_id if desired else None,
                "desired_exposure": desired.exposure_percentage if desired else None,
                "applied_exposure": applied.exposure if applied else None,
                "canary_weight": applied.split.canary if applied else None,
                "stable_weight": applied.split.stable if applied else None,
                "reported_exposure": track.reported[1] if track.reported else None,
                "wedge_error": track.wedge_error,
                "haproxy_error": track.haproxy_error,
            }
        self._status = (healthy, {"healthy": healthy, "proposals": proposals})


def _exposure(track: Track) -> str:
    if track.applied is None:
        return "unknown: HAProxy is left as it is"
    return f"{number(track.applied.exposure)}% ({track.applied.split})"
