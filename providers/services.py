"""What the metric providers and Alertmanager change: each one transaction, audited.

* ``polled_wedge_create``: a submitted plan with ``metric_queries`` is polled
  from its start on.
* ``record_poll``: one wedge's answers of a poll round go through the
  snapshot service as a push does, then the failure counting, the failing and
  recovered events (WDG-601/602, with their outbox rows) and, when one query
  has failed ``WEDGE_METRICS_FAILURE_LIMIT`` times in a row, the system hold
  (RWG-002, the reason naming the provider and its error).
* ``alerts_receive``: firing Alertmanager alerts roll their wedges back, once
  per alert (``fingerprint`` + ``startsAt``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from config.ids import object_id
from org.models import User
from providers.kinds import QueryFailed
from providers.models import AlertReceipt, PolledWedge
from providers.polling import Answer, Job
from wedges.errors import RolloutRefused
from wedges.models import ChangeProposal, RolloutWedge, State
from wedges.services import wedge_hold, wedge_record_snapshot, wedge_rollback_on_alert

log = logging.getLogger(__name__)


# --- Submission ------------------------------------------------------------------------


def polled_wedge_create(*, proposal: ChangeProposal, now: datetime | None = None) -> None:
    """Poll the proposal's wedge while it runs, if its plan has metric queries."""
    wedge = proposal.rollout_wedge
    queries = wedge.document.get("metric_queries") or {}
    if not queries:
        return
    PolledWedge.objects.create(
        wedge=wedge,
        queries={
            metric: {"provider": spec["provider"], "query": spec["query"]}
            for metric, spec in queries.items()
        },
        next_poll_at=now or timezone.now(),
    )


# --- A poll's answers ------------------------------------------------------------------


def record_poll(
    job: Job, answers: list[Answer], *, now: datetime | None = None, limit: int | None = None
) -> str | None:
    """Record one wedge's answers of a round; the action it led to, if any.

    A failed query counts as no data (``None``): the wedge stays where it is
    and cannot advance on a value from before the provider failed, and no
    trigger fires on it.
    """
    now = now or timezone.now()
    limit = limit or settings.WEDGE_METRICS_FAILURE_LIMIT
    asked = [a for a in answers if a.error is None or a.error.code != QueryFailed.NO_TIME]
    if answers and not asked:
        # Nothing was sent (the round's time ran out): due again at once, nothing counted.
        PolledWedge.objects.filter(pk=job.wedge_id).update(
            lease_until=None, claim=None, next_poll_at=job.claimed_at
        )
        return None
    answers = asked
    values: dict[str, Any] = {}
    sources: dict[str, dict[str, Any]] = {}
    state: dict[str, dict[str, Any]] = dict(job.state)  # a query not asked keeps its row
    for answer in answers:
        values[answer.metric] = answer.reading.value if answer.reading else None
        sources[answer.metric] = _source(answer)
        state[answer.metric] = _query_state(job.state.get(answer.metric, {}), answer, now)
    failing = sorted(
        {
            str(job.queries[metric].get("provider", ""))
            for metric, row in state.items()
            if metric in job.queries and int(row.get("failures") or 0) > 0
        }
    )
    at_limit = [a for a in answers if a.error and state[a.metric]["failures"] == limit]
    action: str | None = None
    with transaction.atomic():
        wedge, action = _record_snapshot(job, values, sources, now)
        if wedge is not None:
            if failing and job.failing_since is None:
                _announce(EventCode.METRICS_FAILING, wedge, _failing_reason(answers), now, answers)
            elif not failing and job.failing_since is not None:
                _announce(
                    EventCode.METRICS_RECOVERED,
                    wedge,
                    "every metric query answers again",
                    now,
                    answers,
                )
            if at_limit and wedge.wedge_state == State.ACTIVE:
                first = at_limit[0]
                assert first.error is not None
                held = wedge_hold(
                    proposal_id=job.proposal_id,
                    reason=(
                        f"metric provider {first.provider!r} failed {limit} times in a row for "
                        f"{first.metric}: {first.error.message}"
                    ),
                    data={
                        "provider": first.provider,
                        "metric": first.metric,
                        "error_code": first.error.code,
                        "error": first.error.message,
                        "failures": limit,
                    },
                    now=now,
                )
                action = "hold" if held else action
        PolledWedge.objects.filter(pk=job.wedge_id).update(
            state=state,
            lease_until=None,
            claim=None,
            polled_at=now,
            next_poll_at=job.next_poll_at,
            failing_since=(job.failing_since or now) if failing else None,
            failing_providers=failing,
        )
    return action


def _record_snapshot(
    job: Job, values: dict[str, Any], sources: dict[str, dict[str, Any]], now: datetime
) -> tuple[RolloutWedge | None, str | None]:
    """The snapshot through the one snapshot service: the wedge after it (``None``: it no
    longer runs) and the engine's action, if it acted."""
    if not values:
        return None, None
    try:
        outcome = wedge_record_snapshot(
            proposal_id=job.proposal_id, metrics=values, actor=None, now=now, sources=sources
        )
    except RolloutRefused:
        return None, None  # it stopped running since the round claimed it
    acted = outcome.decision.action.value if outcome.acted and outcome.decision else None
    return outcome.wedge, acted


def _source(answer: Answer) -> dict[str, Any]:
    """Where a value came from, as the evidence and the audit trail record it."""
    source: dict[str, Any] = {"provider": answer.provider, "query": answer.rendered}
    if answer.error is not None:
        source["error"] = answer.error.message
    elif answer.reading is not None and answer.reading.note:
        source["note"] = answer.reading.note
    return source


def _query_state(previous: Mapping[str, Any], answer: Answer, now: datetime) -> dict[str, Any]:
    """A query's row on the proposal page: last value and read time, last error, failures."""
    state = dict(previous)
    state["rendered"] = answer.rendered
    if answer.error is None:
        assert answer.reading is not None
        state.update(
            value=answer.reading.value,
            note=answer.reading.note,
            read_at=now.isoformat(),
            failures=0,
        )
    else:
        state.update(
            error=answer.error.message,
            error_code=answer.error.code,
            error_at=now.isoformat(),
            failures=int(previous.get("failures", 0)) + 1,
        )
    return state


def _failing_reason(answers: list[Answer]) -> str:
    failed = [a for a in answers if a.error is not None]
    first = failed[0]
    assert first.error is not None
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return (
        f"metric provider {first.provider!r} failing for {first.metric}: "
        f"{first.error.message}{more}"
    )


def _announce(
    code: EventCode, wedge: RolloutWedge, reason: str, now: datetime, answers: list[Answer]
) -> None:
    """The failing or recovered event, in the audit trail; from there the outbox delivers it
    to subscribers in every format (``webhooks.events.AUDIT_ANNOUNCED``)."""
    errors = {
        a.metric: {"provider": a.provider, "code": a.error.code, "error": a.error.message}
        for a in answers
        if a.error is not None
    }
    stage_id = wedge.current_stage_id or ""
    record_event(
        code=code,
        proposal_id=wedge.proposal_id,
        stage_id=stage_id,
        target_percentage=wedge.exposure_percentage,
        reason=reason,
        data={"errors": errors, "providers": sorted({a.provider for a in answers})},
        occurred_at=now,
    )


# --- Alertmanager ----------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One alert of an Alertmanager webhook (version 4), as checked by the API."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    fingerprint: str

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    def snapshot(self) -> dict[str, Any]:
        """What the RWG-003 records as its metric snapshot."""
        return {
            "source": "alertmanager",
            "fingerprint": self.fingerprint,
            "starts_at": self.starts_at.isoformat(),
            "labels": self.labels,
            "annotations": self.annotations,
        }


@dataclass
class AlertOutcome:
    fingerprint: str
    status: str
    action: str  # rolled_back, nothing_running, replayed, resolved, no_wedge_labels, refused
    rolled_back: list[int] = field(default_factory=list)
    not_running: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "status": self.status,
            "action": self.action,
            "rolled_back": self.rolled_back,
            "not_running": self.not_running,
            "refused": self.refused,
            "unknown": self.unknown,
        }


PROPOSAL_LABEL = "wedge_proposal"
SUBSYSTEM_LABEL = "wedge_subsystem"


def alerts_receive(
    *,
    alerts: list[Alert],
    actor: User,
    may_act: Callable[[ChangeProposal], bool],
    now: datetime | None = None,
) -> list[AlertOutcome]:
    """Roll back the running wedges each firing alert names; once per alert.

    ``may_act(proposal)`` says whether the caller may do this to a proposal
    (the scopes and roles of the token that delivered the alerts). Resolved
    alerts do nothing: a rollback is not undone by the alert clearing.
    """
    now = now or timezone.now()
    return [_receive_one(alert, actor, may_act, now) for alert in alerts]


def _receive_one(
    alert: Alert, actor: User, may_act: Callable[[ChangeProposal], bool], now: datetime
) -> AlertOutcome:
    outcome = AlertOutcome(alert.fingerprint, alert.status, "resolved")
    if alert.status != "firing":
        return outcome
    targets, unknown = _targets(alert)
    outcome.unknown = unknown
    if not targets and not unknown:
        outcome.action = "no_wedge_labels"
        return outcome
    try:
        with transaction.atomic():
            receipt = AlertReceipt.objects.create(
                fingerprint=alert.fingerprint,
                starts_at=alert.starts_at,
                received_at=now,
                alertname=alert.name[:200],
                labels=alert.labels,
            )
            for proposal in targets:
                if not may_act(proposal):
                    outcome.refused.append(proposal.pk)
                elif wedge_rollback_on_alert(
                    proposal_id=proposal.pk,
                    actor=actor,
                    reason=_alert_reason(alert),
                    alert=alert.snapshot(),
                    now=now,
                ):
                    outcome.rolled_back.append(proposal.pk)
                else:
                    outcome.not_running.append(proposal.pk)
            outcome.action = _summary(outcome)
            receipt.outcome = outcome.to_dict()
            receipt.save(update_fields=["outcome"])
    except IntegrityError:
        # The same alert (fingerprint and start) was acted on before: a replay.
        return AlertOutcome(alert.fingerprint, alert.status, "replayed", unknown=unknown)
    return outcome


def _targets(alert: Alert) -> tuple[list[ChangeProposal], list[str]]:
    """The proposals an alert names: by id, and every running one of a subsystem."""
    proposals: dict[int, ChangeProposal] = {}
    unknown: list[str] = []
    base = ChangeProposal.objects.select_related("subsystem__section")
    raw_id = alert.labels.get(PROPOSAL_LABEL)
    if raw_id is not None:
        number = object_id(raw_id)
        found = base.filter(pk=number).first() if number is not None else None
        if found is None:
            unknown.append(f"{PROPOSAL_LABEL}={raw_id}")
        else:
            proposals[found.pk] = found
    slug = alert.labels.get(SUBSYSTEM_LABEL)
    if slug is not None:
        running = list(
            base.filter(
                subsystem__slug=slug,
                rollout_wedge__wedge_state__in=[State.ACTIVE, State.PAUSED],
            )
        )
        if not running and not base.filter(subsystem__slug=slug).exists():
            unknown.append(f"{SUBSYSTEM_LABEL}={slug}")
        for proposal in running:
            proposals.setdefault(proposal.pk, proposal)
    return [proposals[pk] for pk in sorted(proposals)], unknown


def _alert_reason(alert: Alert) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    text = f"Alertmanager alert {alert.name or alert.fingerprint!r} is firing"
    return f"{text}: {summary}"[:2000] if summary else text


def _summary(outcome: AlertOutcome) -> str:
    if outcome.rolled_back:
        return "rolled_back"
    if outcome.refused and not outcome.not_running:
        return "refused"
    return "nothing_running"
