"""Services that change governance data: each one transaction, audited."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from governance import errors, rules
from governance.errors import FieldError, IncidentInvalid, NotAllowed
from governance.models import Incident, Severity
from org.models import User
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
