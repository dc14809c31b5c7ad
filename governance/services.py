"""Services that change governance data: each one transaction, audited."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import record_event
from config.ids import object_id
from governance import errors, intake, rules
from governance.errors import FieldError, IncidentInvalid, NotAllowed
from governance.models import Incident, Severity
from org.models import Subsystem, User
from wedges.models import ChangeProposal

SUMMARY_MAX: Final = 5_000
_CENT: Final = Decimal("0.01")


def incident_record(
    *,
    proposal: ChangeProposal,
    reported_by: User,
    occurred_at: datetime,
    severity: str,
    affected_percentage: Decimal | float | int | str,
    summary: str,
    now: datetime | None = None,
) -> Incident:
    """Record an incident against ``proposal`` and audit it (WDG-501).

    Only those who may operate the proposal's rollout may record
    (``governance.rules.may_record_incident``). Every input problem is
    reported at once (``IncidentInvalid``). ``proposal`` needs its
    ``subsystem__section`` (permission) and ``rollout_wedge`` (the audit
    data) loaded or loadable.
    """
    if not rules.may_record_incident(reported_by, proposal.subsystem):
        raise NotAllowed(
            errors.NOT_ALLOWED_TO_RECORD,
            "Only operators, and leads of the section owning the subsystem, may record incidents.",
        )
    now = now or timezone.now()
    cleaned = _validate(
        proposal=proposal,
        occurred_at=occurred_at,
        severity=severity,
        affected_percentage=affected_percentage,
        summary=summary,
        now=now,
    )
    with transaction.atomic():
        incident = Incident.objects.create(proposal=proposal, reported_by=reported_by, **cleaned)
        wedge = proposal.rollout_wedge
        record_event(
            code=EventCode.INCIDENT_RECORDED,
            actor=reported_by,
            proposal_id=proposal.pk,
            reason=incident.summary,
            data={
                "incident": incident.pk,
                "severity": incident.severity,
                "occurred_at": incident.occurred_at,
                "affected_percentage": str(incident.affected_percentage),
                # The wedge as the reporter saw it: containment is derived
                # later from the wedge's state then, so keep the evidence.
                "wedge_state": wedge.wedge_state,
                "exposure_reached": rules.exposure_reached(wedge),
            },
            occurred_at=now,
        )
    return incident


def _validate(
    *,
    proposal: ChangeProposal,
    occurred_at: datetime,
    severity: str,
    affected_percentage: Decimal | float | int | str,
    summary: str,
    now: datetime,
) -> dict[str, Any]:
    """The model's field values, or ``IncidentInvalid`` with every problem at once."""
    problems: list[FieldError] = []
    if timezone.is_naive(occurred_at):
        problems.append(
            FieldError("occurred_at", errors.NOT_AWARE, "Give the time with its time zone.")
        )
    elif occurred_at > now:
        problems.append(
            FieldError("occurred_at", errors.IN_FUTURE, "An incident cannot be in the future.")
        )
    elif occurred_at < proposal.created_at:
        problems.append(
            FieldError(
                "occurred_at",
                errors.BEFORE_PROPOSAL,
                "The incident is earlier than the proposal it is recorded against "
                f"(submitted {proposal.created_at:%Y-%m-%d %H:%M} UTC).",
            )
        )
    if severity not in Severity.values:
        problems.append(
            FieldError(
                "severity",
                errors.INVALID_CHOICE,
                f"severity must be one of {', '.join(Severity.values)}.",
            )
        )
    percentage = _percentage(affected_percentage, problems)
    summary = (summary or "").strip()
    if not summary:
        problems.append(FieldError("summary", errors.BLANK, "Describe what happened."))
    elif len(summary) > SUMMARY_MAX:
        problems.append(
            FieldError(
                "summary", errors.TOO_LONG, f"The summary is longer than {SUMMARY_MAX} characters."
            )
        )
    if problems:
        raise IncidentInvalid(problems)
    return {
        "occurred_at": occurred_at,
        "severity": severity,
        "affected_percentage": percentage,
        "summary": summary,
    }


def _percentage(value: Decimal | float | int | str, problems: list[FieldError]) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = Decimal("NaN")
    if isinstance(value, bool) or not number.is_finite() or not 0 <= number <= 100:
        problems.append(
            FieldError(
                "affected_percentage",
                errors.OUT_OF_RANGE,
                "The affected percentage is a number from 0 to 100.",
            )
        )
    elif number != number.quantize(_CENT):
        problems.append(
            FieldError(
                "affected_percentage",
                errors.TOO_PRECISE,
                "The affected percentage has at most two decimal places.",
            )
        )
    else:
        # As the column stores it, so the audit event records what was stored.
        number = number.quantize(_CENT)
    return number


# --- Incidents from incident tools (API and CSV import) -----------------------------------


@dataclass(frozen=True)
class Upserted:
    """What ``incident_upsert`` did: the incident (unsaved on a dry run) and how."""

    incident: Incident
    created: bool
    changed: tuple[str, ...]  # the fields an update changed (empty: nothing to do)
    linked_by_time: bool  # the proposal was found from the subsystem and the start time


def incident_upsert(
    *,
    data: Mapping[str, Any],
    source: str,
    actor: User,
    readable: QuerySet[ChangeProposal] | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> Upserted:
    """Create, or update by ``(source, external_id)``, an incident an incident tool reported.

    ``data`` holds our fields (``governance.intake.COLUMNS``) as the tool gave
    them. Without a ``proposal``, the incident is linked to the proposal that
    was rolling out on its ``subsystem`` when it started (``rolling_out_at``).
    ``readable``: the proposals the caller may name (others are unknown ids).
    Only those who may record incidents on the proposal's subsystem may
    (``NotAllowed``); every input problem at once (``IncidentInvalid``).
    Audited as WDG-501 (new) or WDG-502 (changed); an unchanged re-import
    writes nothing. ``dry_run`` checks everything and writes nothing.
    """
    now = now or timezone.now()
    problems: list[FieldError] = []
    source = intake.text("source", source, 40, problems) or "api"
    external_id = intake.text(
        "external_id", data.get("external_id"), intake.MAX_EXTERNAL_ID, problems
    )
    title = intake.text("title", data.get("title"), intake.MAX_TITLE, problems)
    for name, value in (("external_id", external_id), ("title", title)):
        if not value:
            problems.append(
                FieldError(name, errors.REQUIRED, f"Give the incident's {name.replace('_', ' ')}.")
            )
    severity = intake.severity(data.get("severity"))
    if severity is None:
        problems.append(
            FieldError(
                "severity",
                errors.INVALID_CHOICE,
                "severity is SEV1 to SEV4, P1 to P5, or critical, high, medium or low; "
                f"got {str(data.get('severity') or '')[:20]!r}.",
            )
        )
    started = intake.moment("started_at", data.get("started_at"), problems)
    if started is None and not any(p.field == "started_at" for p in problems):
        problems.append(
            FieldError("started_at", errors.REQUIRED, "Give the time the incident started.")
        )
    resolved = intake.moment("resolved_at", data.get("resolved_at"), problems)
    if started is not None and resolved is not None and resolved < started:
        problems.append(
            FieldError(
                "resolved_at", errors.BEFORE_START, "The incident resolved before it started."
            )
        )
    link = intake.text("link", data.get("link"), intake.MAX_LINK, problems)
    if link and not re.match(r"https?://[^\s/]+", link):
        problems.append(FieldError("link", errors.INVALID_URL, "Give an http:// or https:// link."))
    service = intake.text("subsystem", data.get("subsystem"), 200, problems)
    summary = intake.text("summary", data.get("summary"), SUMMARY_MAX, problems) or title
    proposal, linked_by_time = _proposal_of(
        data.get("proposal"), service, started, readable, problems
    )
    raw_percentage = data.get("affected_percentage")
    if isinstance(raw_percentage, str):
        raw_percentage = raw_percentage.strip().removesuffix("%").strip()
    if raw_percentage in (None, ""):
        problems.append(
            FieldError(
                "affected_percentage", errors.REQUIRED, "Give the affected percentage, 0 to 100."
            )
        )
        raw_percentage = "0"
    cleaned: dict[str, Any] = {}
    if proposal is not None and started is not None and severity is not None:
        # Time, range and precision: the one validation every way in shares.
        try:
            cleaned = _validate(
                proposal=proposal,
                occurred_at=started,
                severity=severity,
                affected_percentage=raw_percentage,
                summary=summary,
                now=now,
            )
        except IncidentInvalid as invalid:
            problems += _renamed(invalid.errors)
    else:
        _percentage(raw_percentage, problems)
    if problems:
        raise IncidentInvalid(problems)
    assert proposal is not None
    if not rules.may_record_incident(actor, proposal.subsystem):
        raise NotAllowed(
            errors.NOT_ALLOWED_TO_RECORD,
            "Only operators, and leads of the section owning the subsystem, may record incidents.",
        )
    fields: dict[str, Any] = {
        **cleaned,
        "proposal": proposal,
        "title": title,
        "resolved_at": resolved,
        "service": service,
        "link": link,
    }
    with transaction.atomic():
        existing = (
            Incident.objects.select_for_update()
            .filter(source=source, external_id=external_id)
            .first()
        )
        if existing is None:
            incident = Incident(source=source, external_id=external_id, reported_by=actor, **fields)
            if not dry_run:
                incident.save()
                _audit(incident, EventCode.INCIDENT_RECORDED, actor, now, changed=())
            return Upserted(incident, True, tuple(sorted(fields)), linked_by_time)
        changed = tuple(
            sorted(name for name, value in fields.items() if getattr(existing, name) != value)
        )
        if changed and not dry_run:
            for name in changed:
                setattr(existing, name, fields[name])
            existing.save()
            _audit(existing, EventCode.INCIDENT_UPDATED, actor, now, changed=changed)
        return Upserted(existing, False, changed, linked_by_time)


def _renamed(problems: list[FieldError]) -> list[FieldError]:
    """The shared validation's field names as a tool writes them."""
    return [replace(p, field="started_at") if p.field == "occurred_at" else p for p in problems]


def _audit(
    incident: Incident, code: EventCode, actor: User, now: datetime, *, changed: tuple[str, ...]
) -> None:
    wedge = incident.proposal.rollout_wedge
    record_event(
        code=code,
        actor=actor,
        proposal_id=incident.proposal_id,
        reason=incident.title or incident.summary,
        data={
            "incident": incident.pk,
            "source": incident.source,
            "external_id": incident.external_id,
            "severity": incident.severity,
            "occurred_at": incident.occurred_at,
            "resolved_at": incident.resolved_at,
            "affected_percentage": str(incident.affected_percentage),
            "changed": list(changed),
            "wedge_state": wedge.wedge_state,
            "exposure_reached": rules.exposure_reached(wedge),
        },
        occurred_at=now,
    )


def _proposal_of(
    named: Any,
    service: str,
    started: datetime | None,
    readable: QuerySet[ChangeProposal] | None,
    problems: list[FieldError],
) -> tuple[ChangeProposal | None, bool]:
    """The proposal named, or the one rolling out on the subsystem when the incident started."""
    proposals = (readable if readable is not None else ChangeProposal.objects.all()).select_related(
        "subsystem__section", "rollout_wedge"
    )
    if named not in (None, ""):
        pk = str(named).strip().lstrip("#")
        number = object_id(pk)
        proposal = proposals.filter(pk=number).first() if number is not None else None
        if proposal is None:
            problems.append(
                FieldError("proposal", errors.DOES_NOT_EXIST, f"There is no proposal #{pk[:20]}.")
            )
        return proposal, False
    if not service:
        problems.append(
            FieldError(
                "subsystem",
                errors.REQUIRED,
                "Name the proposal, or the subsystem (service) the incident hit.",
            )
        )
        return None, False
    subsystem = Subsystem.objects.filter(Q(slug__iexact=service) | Q(name__iexact=service)).first()
    if subsystem is None:
        problems.append(
            FieldError("subsystem", errors.DOES_NOT_EXIST, f"There is no subsystem {service!r}.")
        )
        return None, False
    if started is None:
        return None, False
    candidates = list(rolling_out_at(subsystem, started, proposals)[:2])
    if not candidates:
        problems.append(
            FieldError(
                "subsystem",
                errors.NO_ROLLOUT,
                f"No rollout was running on {subsystem.slug} at "
                f"{started:%Y-%m-%d %H:%M:%S %Z}: name the proposal.",
            )
        )
        return None, False
    if len(candidates) > 1:
        problems.append(
            FieldError(
                "subsystem",
                errors.AMBIGUOUS,
                f"More than one rollout was running on {subsystem.slug} then "
                f"(#{candidates[0].pk}, #{candidates[1].pk}): name the proposal.",
            )
        )
        return None, False
    return candidates[0], True


def rolling_out_at(
    subsystem: Subsystem, moment: datetime, proposals: QuerySet[ChangeProposal] | None = None
) -> QuerySet[ChangeProposal]:
    """Proposals of ``subsystem`` whose wedge was ACTIVE or PAUSED at ``moment``.

    From the audit trail: started (WDG-102) at or before ``moment`` and not
    yet stopped (rolled back RWG-003, completed RWG-004) then; the stop is
    exclusive — at the very instant a wedge rolls back it no longer runs.
    """
    proposals = proposals if proposals is not None else ChangeProposal.objects.all()
    events = AuditEvent.objects.filter(proposal_id=OuterRef("pk"), occurred_at__lte=moment)
    return (
        proposals.filter(subsystem=subsystem)
        .filter(Exists(events.filter(code=EventCode.WEDGE_STARTED)))
        .exclude(Exists(events.filter(code__in=[EventCode.ROLLED_BACK, EventCode.COMPLETED])))
        .order_by("-id")
    )
