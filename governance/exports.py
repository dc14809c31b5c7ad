"""The governance report as JSON-ready data, readable text and CSV.

The report of a quarter is small (its events, incidents and waivers), so the
CSV is built in memory: one table whose ``section`` column says what a row is
(``summary`` figures, then one row per ``rollback``, ``incident``, ``waiver``
and ``waiver_event``), which a spreadsheet filters on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

from audit.codes import describe
from audit.exports import spreadsheet_safe
from governance.effectiveness import effectiveness_dict, trend
from governance.report import Report
from wedges.policy.thresholds import FLOOR

CSV_COLUMNS: Final = (
    "section",
    "item",
    "value",
    "occurred_at",
    "proposal_id",
    "waiver_id",
    "detail",
)

METHOD: Final = (
    "Every rollback (RWG-003): from the arrival of its evidence (the metric snapshot's receipt, "
    "the provider's read, the alert's or canary report's arrival, the operator's request) to "
    "the deployer told (the first successful webhook delivery of the event or the first "
    "desired-state read after the commit, whichever is earlier); nearest-rank percentiles. "
    "Within: told within 60 s (INV-RWG-ROLLBACK), the 60th second included; missed: told "
    "later, or untold more than 60 s after the evidence; compliance = within / (within + missed)."
)


def _time(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``, as the API writes times."""
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:g} s"


def report_dict(report: Report) -> dict[str, Any]:
    """Everything the report says, as JSON-serialisable data."""
    counts = report.waiver_counts
    trends = [effectiveness_dict(figures) for figures in trend(report)]
    return {
        "quarter": report.quarter.label,
        "start": _time(report.quarter.start),
        "end": _time(report.quarter.end),
        "generated_at": _time(report.generated_at),
        "proposals": {
            "submitted": report.proposals_submitted,
            "by_change_type": report.proposals_by_change_type,
        },
        "wedges": {
            "started": report.wedges_started,
            "completed": report.wedges_completed,
            "paused": report.wedges_paused,
            "pauses": report.pauses,
            "rolled_back": report.wedges_rolled_back,
            "rolled_back_automatically": report.automatic_rollbacks,
            "rolled_back_by_operators": report.operator_rollbacks,
        },
        "rollback_slo": rollback_slo_dict(report),
        # Whether the wedges work: this quarter, and the last four quarters (oldest first).
        "effectiveness": trends[-1],
        "trends": trends,
        "exposure_at_catch": {
            "values": report.exposure_at_catch,
            "histogram": [
                {"range": b.label, "low": b.low, "high": b.high, "count": b.count}
                for b in report.exposure_histogram
            ],
        },
        "rollbacks": [
            {
                "event_id": r.event_id,
                "proposal_id": r.proposal_id,
                "occurred_at": _time(r.occurred_at),
                "stage_id": r.stage_id,
                "exposure_before": r.exposure_before,
                "automatic": r.automatic,
                "rule": r.rule,
                "evidence_source": r.timing.evidence_source if r.timing else None,
                "evidence_at": _time(r.timing.evidence_at) if r.timing else None,
                "committed_at": _time(r.timing.committed_at) if r.timing else None,
                "told_at": _time(r.timing.told_at) if r.timing else None,
                "told_via": (r.timing.told_via or None) if r.timing else None,
                "decided_seconds": r.decided_seconds,
                "told_seconds": r.told_seconds,
                "slo": r.slo(report.generated_at),
            }
            for r in report.rollbacks
        ],
        "incidents": {
            "total": len(report.incidents),
            "by_severity": report.incidents_by_severity,
            "contained": report.incidents_contained,
            "contained_share": report.contained_share,
            "items": [
                {
                    "id": i.pk,
                    "proposal_id": i.proposal_id,
                    "occurred_at": _time(i.occurred_at),
                    "severity": i.severity,
                    "affected_percentage": float(i.affected_percentage),
                    "exposure_reached": i.exposure_reached,
                    "wedge_state": i.proposal.rollout_wedge.wedge_state,
                    "contained": i.contained,
                    "summary": i.summary,
                    "reported_by": i.reported_by.username,
                }
                for i in report.incidents
            ],
        },
        "waivers": {
            "requested": counts.requested,
            "granted": counts.granted,
            "expired": counts.expired,
            "rejected": counts.rejected,
            "revoked": counts.revoked,
            "items": [
                {
                    "id": w.pk,
                    "state": w.state,
                    "proposal_id": w.proposal_id,
                    "subsystem": w.subsystem.slug,
                    "change_type": w.change_type,
                    "requester": w.requester.username,
                    "approved_at": _time(w.approved_at),
                    "expires_at": _time(w.expires_at),
                    "closed_at": _time(w.closed_at),
                }
                for w in report.waivers
            ],
            "trail": [
                {
                    "id": e.pk,
                    "occurred_at": _time(e.occurred_at),
                    "code": e.code,
                    "meaning": describe(e.code),
                    "waiver_id": e.waiver_id,
                    "proposal_id": e.proposal_id,
                    "actor": e.actor_label,
                    "reason": e.reason,
                }
                for e in report.waiver_trail
            ],
        },
        "freezes": [
            {
                "id": f.freeze.pk,
                "reason": f.freeze.reason,
                "status": f.status,
                "whole_organisation": f.freeze.whole_organisation,
                "subsystems": [s.slug for s in f.freeze.subsystems.all()],
                "starts_at": _time(f.freeze.starts_at),
                "until": _time(f.freeze.until),
                "declared_by": f.freeze.declared_by.username,
                "held_proposals": list(f.held),
                "waived_through": list(f.waived_through),
            }
            for f in report.freezes
        ],
        "policy_changes": [
            {
                "version": c.number,
                "status": c.status,
                "proposed_by": c.proposed_by,
                "proposed_at": _time(c.proposed_at),
                "decided_by": c.decided_by or None,
                "decided_at": _time(c.decided_at),
                "effective_at": _time(c.effective_at),
                "changes": list(c.changes),
                "rationale": c.rationale,
            }
            for c in report.policy_changes
        ],
    }


def rollback_slo_dict(report: Report) -> dict[str, Any]:
    """The rollback SLO as measured (INV-RWG-ROLLBACK) in the quarter."""
    counts = report.slo_counts
    return {
        # Version 1's bound; each rollback is held to its wedge's policy version's.
        "slo_seconds": FLOOR.rollback_slo_seconds,
        "rollbacks": report.wedges_rolled_back,
        "told": len(report.told_seconds),
        "within_slo": counts["within"],
        "missed_slo": counts["missed"],
        "pending": counts["pending"],
        "not_measured": counts["not_measured"],
        "compliance": report.slo_compliance,
        "evidence_to_told_seconds": {"p50": report.told_p50, "p99": report.told_p99},
        "evidence_to_rollback_seconds": {"p50": report.decided_p50, "p99": report.decided_p99},
        "method": METHOD,
    }


def report_text(report: Report) -> str:
    """A readable summary for a terminal."""
    q = report.quarter
    counts = report.waiver_counts
    severities = ", ".join(f"{s} {n}" for s, n in report.incidents_by_severity.items())
    lines = [
        f"Governance report {q.label} ({q.start:%Y-%m-%d} to {q.last_day:%Y-%m-%d}, UTC)",
        f"Computed at {report.generated_at:%Y-%m-%d %H:%M:%S} UTC",
        "",
        f"Proposals submitted: {report.proposals_submitted}",
        f"Wedges: started {report.wedges_started}, completed {report.wedges_completed}, "
        f"paused {report.wedges_paused} ({report.pauses} pauses), "
        f"rolled back {report.wedges_rolled_back} (automatically {report.automatic_rollbacks}, "
        f"by operators {report.operator_rollbacks})",
        f"Rollback SLO (evidence to deployer told, {len(report.told_seconds)} told): "
        f"p50 {_seconds(report.told_p50)}, p99 {_seconds(report.told_p99)}; "
        f"within 60 s {report.slo_counts['within']} of "
        f"{report.slo_counts['within'] + report.slo_counts['missed']} "
        f"({_share(report.slo_compliance)})",
        "Exposure at which failures were caught:",
    ]
    lines += [f"  {b.label:>10}  {b.count}" for b in report.exposure_histogram]
    lines += [
        f"Incidents: {len(report.incidents)} ({severities}); contained by a wedge "
        f"{report.incidents_contained} ({_share(report.contained_share)})",
        f"Waivers: requested {counts.requested}, granted {counts.granted}, "
        f"expired {counts.expired}, rejected {counts.rejected}, revoked {counts.revoked}",
    ]
    lines.append(
        "Effectiveness, last four quarters (incidents wedged/waived, contained, "
        "mean exposure at detection, mean time to rollback, SLO compliance):"
    )
    for f in trend(report):
        exposure = f.mean_exposure_at_detection
        minutes = f.mean_minutes_to_rollback
        lines.append(
            f"  {f.quarter.label}  {f.incidents_wedged}/{f.incidents_waived}  "
            f"{_share(f.contained_share)}  "
            f"{'—' if exposure is None else f'{exposure:g} %'}  "
            f"{'—' if minutes is None else f'{minutes:.1f} min'}  {_share(f.slo_compliance)}"
        )
    if report.waiver_trail:
        lines.append("Waiver trail:")
        lines += [
            f"  {e.occurred_at:%Y-%m-%d %H:%M:%S}  {e.code}  waiver #{e.waiver_id}  "
            f"{describe(e.code)} ({e.actor_label})"
            for e in report.waiver_trail
        ]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return value


def _row(
    section: str,
    item: Any,
    value: Any,
    *,
    occurred_at: str | None = None,
    proposal_id: int | None = None,
    waiver_id: int | None = None,
    detail: str | None = None,
) -> tuple[Any, ...]:
    return (section, item, value, occurred_at, proposal_id, waiver_id, detail)


def csv_rows(report: Report) -> Iterator[tuple[Any, ...]]:
    """The report's CSV rows after the header (see the module docstring)."""
    data = report_dict(report)
    for group in ("proposals", "wedges", "rollback_slo", "incidents", "waivers"):
        for key, value in data[group].items():
            if isinstance(value, dict):
                for sub, number in value.items():
                    yield _row("summary", f"{group}.{key}.{sub}", number)
            elif not isinstance(value, list) and key != "method":
                yield _row("summary", f"{group}.{key}", value)
    for quarter in data["trends"]:
        for key, value in quarter.items():
            if key in ("quarter", "exposure_at_detection"):
                continue
            if isinstance(value, dict):
                for sub, number in value.items():
                    yield _row("trend", f"{quarter['quarter']}.{key}.{sub}", number)
            else:
                yield _row("trend", f"{quarter['quarter']}.{key}", value)
    for bucket in data["exposure_at_catch"]["histogram"]:
        yield _row("summary", f"exposure_at_catch {bucket['range']}", bucket["count"])
    for r in data["rollbacks"]:
        by = f"automatic ({r['rule']})" if r["automatic"] else "by an operator"
        if r["slo"] == "not_measured":
            detail = f"{by}; not timed"
        elif r["told_seconds"] is None:
            detail = f"{by}; deployer not told yet; {r['slo']}"
        else:
            detail = f"{by}; evidence to deployer told {r['told_seconds']:g} s; {r['slo']}"
        yield _row(
            "rollback",
            r["stage_id"],
            r["exposure_before"],
            occurred_at=r["occurred_at"],
            proposal_id=r["proposal_id"],
            detail=detail,
        )
    for i in data["incidents"]["items"]:
        contained = "contained" if i["contained"] else "not contained"
        yield _row(
            "incident",
            i["severity"],
            i["affected_percentage"],
            occurred_at=i["occurred_at"],
            proposal_id=i["proposal_id"],
            detail=f"{contained}; exposure reached {i['exposure_reached']:g}; {i['summary']}",
        )
    for w in data["waivers"]["items"]:
        yield _row(
            "waiver",
            w["state"],
            w["subsystem"],
            occurred_at=w["approved_at"],
            proposal_id=w["proposal_id"],
            waiver_id=w["id"],
            detail=f"requested by {w['requester']}; expires {w['expires_at'] or '—'}",
        )
    for e in data["waivers"]["trail"]:
        yield _row(
            "waiver_event",
            e["code"],
            e["meaning"],
            occurred_at=e["occurred_at"],
            proposal_id=e["proposal_id"],
            waiver_id=e["waiver_id"],
            detail=f"{e['actor']}: {e['reason']}" if e["reason"] else e["actor"],
        )
    for f in data["freezes"]:
        scope = "whole organisation" if f["whole_organisation"] else " ".join(f["subsystems"])
        yield _row(
            "freeze",
            f["status"],
            len(f["held_proposals"]),
            occurred_at=f["starts_at"],
            detail=f"{f['reason']}; {scope}; until {f['until']}; "
            f"held {f['held_proposals'] or 'none'}; waived through {f['waived_through'] or 'none'}",
        )


def policy_rows(data: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The quarter's policy changes as CSV rows (one per version)."""
    for c in data.get("policy_changes", []):
        decided = f"; {c['status'].lower()} by {c['decided_by']}" if c["decided_by"] else ""
        yield _row(
            "policy_change",
            f"version {c['version']}",
            "; ".join(c["changes"]) or c["status"],
            occurred_at=c["effective_at"],
            detail=f"proposed by {c['proposed_by']}{decided}",
        )


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        writer.writerow([_cell(value) for value in row])
    for row in policy_rows(report_dict(report)):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
