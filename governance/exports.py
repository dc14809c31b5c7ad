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
from governance.report import Report

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
    "Automatic rollbacks only: from the acceptance of the breaching metric snapshot "
    "to the RWG-003 event; nearest-rank percentiles."
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
        "trigger_to_rollback_seconds": {
            "measured": len(report.rollback_seconds),
            "not_measured": report.rollbacks_not_measured,
            "p50": report.rollback_p50,
            "p99": report.rollback_p99,
            "method": METHOD,
        },
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
                "trigger_at": _time(r.trigger_at),
                "seconds": r.seconds,
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
        f"Trigger to rollback (automatic, {len(report.rollback_seconds)} measured): "
        f"p50 {_seconds(report.rollback_p50)}, p99 {_seconds(report.rollback_p99)}",
        "Exposure at which failures were caught:",
    ]
    lines += [f"  {b.label:>10}  {b.count}" for b in report.exposure_histogram]
    lines += [
        f"Incidents: {len(report.incidents)} ({severities}); contained by a wedge "
        f"{report.incidents_contained} ({_share(report.contained_share)})",
        f"Waivers: requested {counts.requested}, granted {counts.granted}, "
        f"expired {counts.expired}, rejected {counts.rejected}, revoked {counts.revoked}",
    ]
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
    for group in ("proposals", "wedges", "trigger_to_rollback_seconds", "incidents", "waivers"):
        for key, value in data[group].items():
            if isinstance(value, dict):
                for sub, number in value.items():
                    yield _row("summary", f"{group}.{key}.{sub}", number)
            elif not isinstance(value, list) and key != "method":
                yield _row("summary", f"{group}.{key}", value)
    for bucket in data["exposure_at_catch"]["histogram"]:
        yield _row("summary", f"exposure_at_catch {bucket['range']}", bucket["count"])
    for r in data["rollbacks"]:
        if not r["automatic"]:
            detail = "by an operator; not timed"
        elif r["seconds"] is None:
            detail = f"automatic ({r['rule']}); no snapshot to time it from"
        else:
            detail = f"automatic ({r['rule']}); trigger to rollback {r['seconds']:g} s"
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


def report_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(report):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()
