"""The quarterly governance report: how well the rollout wedges worked.

Pure computation over querysets, in a fixed number of queries (seven) however
much data the quarter holds. Every rollback is read off its RWG-003 event
alone: whoever rolls a wedge back records the evidence there
(``wedges.services.rollout``). Quarters are calendar quarters in UTC, written
``YYYYQn``; an event belongs to the quarter when ``start <= time < end``.

What each figure counts (all "in the quarter" by the time of the event):

* proposals: proposals submitted (``created_at``, the WDG-101 moment);
* wedges started / completed / rolled back: WDG-102 / RWG-004 / RWG-003
  events (each happens once per wedge); paused: wedges with at least one
  RWG-002 (automatic or an operator's hold), plus the number of pauses;
* the rollback SLO as measured (INV-RWG-ROLLBACK): every rollback's
  ``wedges.RollbackTiming`` row — when its evidence arrived, when the rollback
  was written, when the deployer was told (first webhook delivered or first
  ``desired-state/`` read). p50/p99 (nearest-rank) of evidence to told over
  the rollbacks told; within the policy's 60 s (the 60th second included),
  missed (told later, or still untold more than 60 s after the evidence) and
  compliance = within / (within + missed). A rollback from before timings
  were kept has no row and is counted as not measured;
* exposure at catch: for every rollback, the exposure the wedge held just
  before it, ``data["exposure_before"]``. The RWG-003 row's own
  ``target_percentage`` is the exposure *after* the rollback (0);
* incidents: by ``occurred_at``; containment per ``governance.rules``;
* waivers requested / granted / expired / rejected / revoked: WDG-201 / 203 /
  205 / 204 / 206 events, and the trail: every waiver event (WDG-201…207).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from django.db.models import Count
from django.utils import timezone

from audit.codes import WAIVER_EVENTS, EventCode
from audit.models import AuditEvent
from freezes.selectors import FreezeSummary, quarter_freezes
from governance import selectors
from governance.models import Incident, Severity
from policies import selectors as policy_selectors
from waivers.models import WaiverRequest
from wedges.models import ChangeProposal, ChangeType, RollbackTiming
from wedges.policy.thresholds import LABELS

MIN_YEAR: Final = 1970
MAX_YEAR: Final = 9998  # 9999Q4 would end in year 10000, which datetime cannot hold
_QUARTER = re.compile(r"(\d{4})Q(\d)")

# Upper edges of the exposure-at-catch histogram; the first bucket includes 0.
EXPOSURE_EDGES: Final = (5.0, 10.0, 25.0, 50.0, 75.0, 100.0)


# --- Quarters --------------------------------------------------------------------------------


class QuarterError(ValueError):
    """A quarter string that is not ``YYYYQn`` with n in 1..4."""


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise QuarterError(f"A year has quarters 1 to 4; got Q{self.number}.")
        if not MIN_YEAR <= self.year <= MAX_YEAR:
            raise QuarterError(f"The year must be from {MIN_YEAR} to {MAX_YEAR}; got {self.year}.")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """``"2026Q4"`` (a lower-case ``q`` is accepted too) as a Quarter, or ``QuarterError``."""
        match = _QUARTER.fullmatch(text.strip().upper()) if isinstance(text, str) else None
        if match is None:
            raise QuarterError(f"Give the quarter as YYYYQn, for example 2026Q4; got {text!r}.")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def containing(cls, moment: datetime) -> Quarter:
        """The quarter ``moment`` falls in (in UTC)."""
        utc = moment.astimezone(UTC)
        return cls(utc.year, (utc.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def start(self) -> datetime:
        """The first instant of the quarter (inclusive)."""
        return datetime(self.year, 3 * self.number - 2, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next quarter (exclusive)."""
        if self.number == 4:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, 3 * self.number + 1, 1, tzinfo=UTC)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def previous(self) -> Quarter | None:
        year, number = (self.year - 1, 4) if self.number == 1 else (self.year, self.number - 1)
        return Quarter(year, number) if year >= MIN_YEAR else None

    @property
    def next(self) -> Quarter | None:
        year, number = (self.year + 1, 1) if self.number == 4 else (self.year, self.number + 1)
        return Quarter(year, number) if year <= MAX_YEAR else None


def quarter_bounds(text: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of the quarter ``text`` names: start inclusive, end exclusive, UTC."""
    quarter = Quarter.parse(text)
    return quarter.start, quarter.end


# --- The report ------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (an observed value), ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Rollback:
    """One RWG-003 of the quarter, with the evidence its event records."""

    event_id: int
    proposal_id: int
    occurred_at: datetime
    stage_id: str
    exposure_before: float | None
    automatic: bool
    rule: str
    timing: RollbackTiming | None  # None: rolled back before timings were kept

    @property
    def decided_seconds(self) -> float | None:
        """Evidence to the rollback written."""
        return None if self.timing is None else self.timing.decided.total_seconds()

    @property
    def told_seconds(self) -> float | None:
        """Evidence to the deployer told (``None``: not timed, or nobody told yet)."""
        told = None if self.timing is None else self.timing.told
        return None if told is None else told.total_seconds()

    def slo(self, now: datetime) -> str:
        """``"within"``, ``"missed"``, ``"pending"`` (untold, 60 s not yet passed) or
        ``"not_measured"``, as of ``now``."""
        if self.timing is None:
            return "not_measured"
        told = self.timing.told
        if told is not None:
            return "within" if self.timing.within_slo else "missed"
        return "missed" if now - self.timing.evidence_at > self.timing.slo else "pending"


@dataclass(frozen=True)
class Bucket:
    low: float
    high: float
    count: int

    @property
    def label(self) -> str:
        if self.low == 0:
            return f"≤ {self.high:g} %"
        return f"{self.low:g}-{self.high:g} %"


@dataclass(frozen=True)
class WaiverCounts:
    requested: int
    granted: int
    expired: int
    rejected: int
    revoked: int


@dataclass(frozen=True)
class PolicyChange:
    """One policy version's review, as the report lists it."""

    number: int
    status: str
    proposed_by: str
    proposed_at: datetime
    decided_by: str
    decided_at: datetime | None
    effective_at: datetime
    changes: tuple[str, ...]  # "First stage cap: 25 → 20 %"
    rationale: str


def _policy_changes(start: datetime, end: datetime) -> tuple[PolicyChange, ...]:
    versions = list(policy_selectors.versions())
    touched = [
        version
        for version in versions
        if version.proposed_by_id is not None
        and any(
            moment is not None and start <= moment < end
            for moment in (version.proposed_at, version.decided_at, version.effective_at)
        )
    ]
    return tuple(
        PolicyChange(
            number=version.number,
            status=version.get_status_display(),
            proposed_by=version.proposed_by.username if version.proposed_by else "",
            proposed_at=version.proposed_at,
            decided_by=version.decided_by.username if version.decided_by else "",
            decided_at=version.decided_at,
            effective_at=version.effective_at,
            changes=tuple(
                f"{LABELS[c.field][0]}: {c.before:g} → {c.after:g} {LABELS[c.field][1]}"
                for c in policy_selectors.changes_of(version, versions)
            ),
            rationale=version.rationale,
        )
        for version in sorted(touched, key=lambda v: v.number)
    )


@dataclass(frozen=True)
class Report:
    quarter: Quarter
    generated_at: datetime
    proposals_submitted: int
    proposals_by_change_type: dict[str, int]
    wedges_started: int
    wedges_completed: int
    wedges_paused: int  # wedges paused at least once in the quarter
    pauses: int  # RWG-002 events
    rollbacks: tuple[Rollback, ...]
    incidents: tuple[Incident, ...]  # with proposal__rollout_wedge loaded
    waiver_counts: WaiverCounts
    waiver_trail: tuple[AuditEvent, ...]  # oldest first, with actor loaded
    waivers: tuple[WaiverRequest, ...]  # every waiver with an event in the quarter
    # Policy versions proposed, decided or taking effect in the quarter.
    policy_changes: tuple[PolicyChange, ...] = ()
    # Change freezes in force for some of the quarter, with what they held.
    freezes: tuple[FreezeSummary, ...] = ()

    # --- Rollbacks
    @property
    def wedges_rolled_back(self) -> int:
        return len(self.rollbacks)

    @property
    def automatic_rollbacks(self) -> int:
        return sum(1 for rollback in self.rollbacks if rollback.automatic)

    @property
    def operator_rollbacks(self) -> int:
        return self.wedges_rolled_back - self.automatic_rollbacks

    # --- The rollback SLO as measured (INV-RWG-ROLLBACK)
    @property
    def told_seconds(self) -> list[float]:
        """Evidence to deployer told, of the rollbacks whose deployer was told."""
        return [r.told_seconds for r in self.rollbacks if r.told_seconds is not None]

    @property
    def decided_seconds(self) -> list[float]:
        return [r.decided_seconds for r in self.rollbacks if r.decided_seconds is not None]

    @property
    def told_p50(self) -> float | None:
        return percentile(self.told_seconds, 50)

    @property
    def told_p99(self) -> float | None:
        return percentile(self.told_seconds, 99)

    @property
    def decided_p50(self) -> float | None:
        return percentile(self.decided_seconds, 50)

    @property
    def decided_p99(self) -> float | None:
        return percentile(self.decided_seconds, 99)

    @property
    def slo_counts(self) -> dict[str, int]:
        """Rollbacks by ``Rollback.slo`` as of the report's computation."""
        counted = Counter(r.slo(self.generated_at) for r in self.rollbacks)
        return {key: counted[key] for key in ("within", "missed", "pending", "not_measured")}

    @property
    def slo_compliance(self) -> float | None:
        """Within 60 s as a fraction of the rollbacks judged (``None``: none judged yet)."""
        counts = self.slo_counts
        judged = counts["within"] + counts["missed"]
        return counts["within"] / judged if judged else None

    # --- Exposure at catch
    @property
    def exposure_at_catch(self) -> list[float]:
        return [r.exposure_before for r in self.rollbacks if r.exposure_before is not None]

    @property
    def exposure_histogram(self) -> list[Bucket]:
        counts = [0] * len(EXPOSURE_EDGES)
        for value in self.exposure_at_catch:
            index = next((i for i, edge in enumerate(EXPOSURE_EDGES) if value <= edge), -1)
            counts[index] += 1
        lows = (0.0, *EXPOSURE_EDGES[:-1])
        return [
            Bucket(low, high, count)
            for low, high, count in zip(lows, EXPOSURE_EDGES, counts, strict=True)
        ]

    # --- Incidents
    @property
    def incidents_by_severity(self) -> dict[str, int]:
        counted = Counter(incident.severity for incident in self.incidents)
        return {severity: counted[severity] for severity in Severity.values}

    @property
    def incidents_contained(self) -> int:
        return sum(1 for incident in self.incidents if incident.contained)

    @property
    def contained_share(self) -> float | None:
        """Contained incidents as a fraction of all (``None`` without incidents)."""
        if not self.incidents:
            return None
        return self.incidents_contained / len(self.incidents)


def governance_report(quarter: Quarter | str, *, now: datetime | None = None) -> Report:
    """The report of ``quarter`` (a Quarter or ``"YYYYQn"``; ``QuarterError`` if invalid)."""
    if isinstance(quarter, str):
        quarter = Quarter.parse(quarter)
    start, end = quarter.start, quarter.end
    in_quarter = {"occurred_at__gte": start, "occurred_at__lt": end}

    by_type = dict(
        ChangeProposal.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("change_type")
        .annotate(n=Count("id"))
        .order_by()
    )
    # code -> (events, distinct wedges)
    rollout: dict[str, tuple[int, int]] = {
        code: (events, wedges)
        for code, events, wedges in AuditEvent.objects.filter(
            code__in=[EventCode.WEDGE_STARTED, EventCode.PAUSED, EventCode.COMPLETED],
            **in_quarter,
        )
        .values_list("code")
        .annotate(Count("id"), Count("proposal_id", distinct=True))
        .order_by()
    }
    # The waivers' trail and the rollbacks, in one read of the quarter's events.
    read = list(
        AuditEvent.objects.filter(code__in=[*WAIVER_EVENTS, EventCode.ROLLED_BACK], **in_quarter)
        .select_related("actor")
        .order_by("id")
    )
    trail = tuple(event for event in read if event.code != EventCode.ROLLED_BACK)
    rolled_back = sorted(
        (event for event in read if event.code == EventCode.ROLLED_BACK),
        key=lambda event: (event.occurred_at, event.id),
    )
    codes = Counter(event.code for event in trail)
    waiver_ids = sorted({event.waiver_id for event in trail if event.waiver_id is not None})
    waivers = (
        tuple(
            WaiverRequest.objects.filter(pk__in=waiver_ids)
            .select_related("requester", "subsystem", "proposal")
            .order_by("id")
        )
        if waiver_ids
        else ()
    )

    def count(code: EventCode, *, distinct_wedges: bool = False) -> int:
        events, wedges = rollout.get(code.value, (0, 0))
        return wedges if distinct_wedges else events

    return Report(
        quarter=quarter,
        generated_at=now or timezone.now(),
        proposals_submitted=sum(by_type.values()),
        proposals_by_change_type={kind: by_type.get(kind, 0) for kind in ChangeType.values},
        wedges_started=count(EventCode.WEDGE_STARTED),
        wedges_completed=count(EventCode.COMPLETED),
        wedges_paused=count(EventCode.PAUSED, distinct_wedges=True),
        pauses=count(EventCode.PAUSED),
        rollbacks=_rollbacks(rolled_back),
        incidents=tuple(selectors.incidents_between(start, end)),
        waiver_counts=WaiverCounts(
            requested=codes[EventCode.WAIVER_REQUESTED],
            granted=codes[EventCode.WAIVER_APPROVED],
            expired=codes[EventCode.WAIVER_EXPIRED],
            rejected=codes[EventCode.WAIVER_REJECTED],
            revoked=codes[EventCode.WAIVER_REVOKED],
        ),
        waiver_trail=trail,
        waivers=waivers,
        policy_changes=_policy_changes(start, end),
        freezes=tuple(quarter_freezes(start, end, now or timezone.now())),
    )


def _rollbacks(events: list[AuditEvent]) -> tuple[Rollback, ...]:
    """The rollbacks with their timings, in one query."""
    timings = (
        {
            t.audit_event_id: t
            for t in RollbackTiming.objects.filter(
                audit_event_id__in=[e.pk for e in events]
            ).select_related("wedge")
        }
        if events
        else {}
    )
    return tuple(_rollback(event, timings.get(event.pk)) for event in events)


def _rollback(event: AuditEvent, timing: RollbackTiming | None) -> Rollback:
    assert event.proposal_id is not None  # the services record every RWG-003 on its proposal
    data = event.data if isinstance(event.data, dict) else {}
    automatic = event.actor_id is None
    return Rollback(
        event_id=event.pk,
        proposal_id=event.proposal_id,
        occurred_at=event.occurred_at,
        stage_id=event.stage_id,
        exposure_before=_number(data.get("exposure_before")),
        automatic=automatic,
        rule=str(data.get("rule") or ("operator" if not automatic else "")),
        timing=timing,
    )


def _number(recorded: Any) -> float | None:
    """The recorded number, if there is a usable one."""
    if isinstance(recorded, int | float) and not isinstance(recorded, bool):
        return float(recorded)
    return None
