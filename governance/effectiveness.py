"""Whether the wedges work: effectiveness per quarter, and its trend over four quarters.

Counts alone (``governance.report``) do not say whether staged rollouts limit
the damage of bad changes; these figures do, quarter by quarter:

* incidents during wedged rollouts versus waived ones: an incident's proposal
  is *waived* when a waiver lifted its rules (``WaiverCoverage``), *wedged*
  otherwise;
* exposure at detection: the exposure the proposal's wedge held when the
  incident started, read off the audit trail (the latest start, advance,
  pause, resume, rollback or completion at or before it; 0 before the start);
* contained: ``governance.rules.is_contained`` (stopped — rolled back or
  paused — with the affected share within the exposure reached);
* time to rollback: from the incident's start to its proposal's rollback
  (RWG-003), for incidents whose wedge rolled back at or after their start;
* waivers granted in the quarter (WDG-203) and their outcomes: the proposals
  they covered, by what became of them (completed, rolled back, still
  running or not started) and how many had an incident;
* the rollback SLO's compliance (``Report.slo_compliance``).

A quarter costs a fixed number of queries (the report's seven and four more).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean
from typing import Any, Final

from django.db.models import Exists, OuterRef

from audit.codes import EXPOSURE_EVENTS, EventCode
from audit.models import AuditEvent
from governance.models import Incident
from governance.report import Quarter, Report, governance_report
from waivers.models import WaiverCoverage
from wedges.models import ChangeProposal, State

TREND_QUARTERS: Final = 4


@dataclass(frozen=True)
class WaiverOutcomes:
    granted: int  # waivers granted (WDG-203) in the quarter
    proposals: int  # proposals they covered
    completed: int
    rolled_back: int
    other: int  # still running, paused or not started
    with_incident: int  # covered proposals with at least one incident (any time)


@dataclass(frozen=True)
class Effectiveness:
    quarter: Quarter
    incidents: int
    incidents_wedged: int
    incidents_waived: int
    contained: int
    exposure_at_detection: tuple[float, ...]  # one per incident, oldest first
    minutes_to_rollback: tuple[float, ...]  # one per incident whose wedge rolled back later
    waivers: WaiverOutcomes
    slo_compliance: float | None
    rollbacks: int

    @property
    def contained_share(self) -> float | None:
        return self.contained / self.incidents if self.incidents else None

    @property
    def mean_exposure_at_detection(self) -> float | None:
        return fmean(self.exposure_at_detection) if self.exposure_at_detection else None

    @property
    def mean_minutes_to_rollback(self) -> float | None:
        return fmean(self.minutes_to_rollback) if self.minutes_to_rollback else None


def effectiveness(report: Report) -> Effectiveness:
    """The effectiveness figures of the quarter ``report`` covers."""
    incidents = report.incidents
    proposal_ids = sorted({incident.proposal_id for incident in incidents})
    waived = set(
        WaiverCoverage.objects.filter(proposal_id__in=proposal_ids).values_list(
            "proposal_id", flat=True
        )
        if proposal_ids
        else ()
    )
    # Each proposal's exposure steps and rollback, from the audit trail.
    steps: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    rolled_back_at: dict[int, datetime] = {}
    if proposal_ids:
        for proposal_id, code, at, held in (
            AuditEvent.objects.filter(proposal_id__in=proposal_ids, code__in=EXPOSURE_EVENTS)
            .order_by("occurred_at", "id")
            .values_list("proposal_id", "code", "occurred_at", "target_percentage")
        ):
            assert proposal_id is not None
            if held is not None:
                steps[proposal_id].append((at, float(held)))
            if code == EventCode.ROLLED_BACK:
                rolled_back_at[proposal_id] = at
    exposure: list[float] = []
    minutes: list[float] = []
    for incident in incidents:
        exposure.append(_exposure_at(steps[incident.proposal_id], incident.occurred_at))
        rollback = rolled_back_at.get(incident.proposal_id)
        if rollback is not None and rollback >= incident.occurred_at:
            minutes.append((rollback - incident.occurred_at).total_seconds() / 60)
    wedged = sum(1 for incident in incidents if incident.proposal_id not in waived)
    return Effectiveness(
        quarter=report.quarter,
        incidents=len(incidents),
        incidents_wedged=wedged,
        incidents_waived=len(incidents) - wedged,
        contained=report.incidents_contained,
        exposure_at_detection=tuple(exposure),
        minutes_to_rollback=tuple(minutes),
        waivers=_waiver_outcomes(report),
        slo_compliance=report.slo_compliance,
        rollbacks=report.wedges_rolled_back,
    )


def _exposure_at(steps: list[tuple[datetime, float]], moment: datetime) -> float:
    """The exposure held at ``moment``: the latest step at or before it (0 before any)."""
    index = bisect_right([at for at, _ in steps], moment)
    return steps[index - 1][1] if index else 0.0


def _waiver_outcomes(report: Report) -> WaiverOutcomes:
    granted = sorted(
        {
            event.waiver_id
            for event in report.waiver_trail
            if event.code == EventCode.WAIVER_APPROVED and event.waiver_id is not None
        }
    )
    if not granted:
        return WaiverOutcomes(0, 0, 0, 0, 0, 0)
    covered = {
        proposal_id
        for proposal_id in AuditEvent.objects.filter(
            code=EventCode.WAIVER_APPLIED, waiver_id__in=granted
        ).values_list("proposal_id", flat=True)
        if proposal_id is not None
    }
    outcomes = list(
        ChangeProposal.objects.filter(pk__in=covered)
        .annotate(had_incident=Exists(Incident.objects.filter(proposal=OuterRef("pk"))))
        .values_list("rollout_wedge__wedge_state", "had_incident")
    )
    completed = sum(1 for state, _ in outcomes if state == State.COMPLETE)
    rolled_back = sum(1 for state, _ in outcomes if state == State.ROLLED_BACK)
    return WaiverOutcomes(
        granted=len(granted),
        proposals=len(outcomes),
        completed=completed,
        rolled_back=rolled_back,
        other=len(outcomes) - completed - rolled_back,
        with_incident=sum(1 for _, had in outcomes if had),
    )


def trend(report: Report) -> list[Effectiveness]:
    """Effectiveness of the report's quarter and the three before it, oldest first."""
    earlier: list[Quarter] = []
    current = report.quarter.previous
    while current is not None and len(earlier) < TREND_QUARTERS - 1:
        earlier.append(current)
        current = current.previous
    reports = [governance_report(q, now=report.generated_at) for q in reversed(earlier)]
    return [effectiveness(r) for r in [*reports, report]]


def effectiveness_dict(figures: Effectiveness) -> dict[str, Any]:
    """One quarter's effectiveness as JSON-ready data."""
    waivers = figures.waivers
    return {
        "quarter": figures.quarter.label,
        "incidents": figures.incidents,
        "incidents_during_wedged_rollouts": figures.incidents_wedged,
        "incidents_during_waived_rollouts": figures.incidents_waived,
        "contained": figures.contained,
        "contained_share": figures.contained_share,
        "exposure_at_detection": list(figures.exposure_at_detection),
        "mean_exposure_at_detection": figures.mean_exposure_at_detection,
        "mean_minutes_to_rollback": figures.mean_minutes_to_rollback,
        "rollbacks": figures.rollbacks,
        "rollback_slo_compliance": figures.slo_compliance,
        "waivers": {
            "granted": waivers.granted,
            "proposals_covered": waivers.proposals,
            "completed": waivers.completed,
            "rolled_back": waivers.rolled_back,
            "other": waivers.other,
            "with_incident": waivers.with_incident,
        },
    }


def trend_charts(figures: list[Effectiveness]) -> dict[str, Any]:
    """What the page's trend charts draw (json_script): one point per quarter."""

    def percent(value: float | None) -> float | None:
        return None if value is None else round(value * 100, 1)

    return {
        "labels": [f.quarter.label for f in figures],
        "wedged": [f.incidents_wedged for f in figures],
        "waived": [f.incidents_waived for f in figures],
        "contained": [percent(f.contained_share) for f in figures],
        "compliance": [percent(f.slo_compliance) for f in figures],
        "exposure": [f.mean_exposure_at_detection for f in figures],
        "minutes": [f.mean_minutes_to_rollback for f in figures],
    }
