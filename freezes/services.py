"""Declare and end change freezes: each one transaction, audited (WDG-521...523)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from django.db import transaction
from django.utils import timezone

from audit.codes import EventCode
from audit.services import record_event
from freezes import errors, rules
from freezes.errors import FieldError, FreezeInvalid, NotAllowed, Refused
from freezes.models import ChangeFreeze, FreezeStatus
from org.models import Subsystem, User

REASON_MAX: Final = 500
# The longest window one declaration may freeze: a year-end holiday fits; a
# longer stop is a change of policy, not a freeze.
LONGEST: Final = timedelta(days=60)
# A start a little before now is "now" typed into a form with minute precision.
START_SLACK: Final = timedelta(minutes=5)
NOT_A_LEAD_MESSAGE: Final = (
    "Only a section lead may declare a freeze: of the subsystems of their sections, "
    "or of the whole organisation."
)


def freeze_declare(
    *,
    actor: User,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    whole_organisation: bool = False,
    subsystems: Sequence[str] = (),
    now: datetime | None = None,
) -> ChangeFreeze:
    """Declare a freeze of ``subsystems`` (slugs) or the whole organisation; audited WDG-521.

    Every input problem is reported at once (``FreezeInvalid``); who may
    freeze what is ``freezes.rules``.
    """
    now = now or timezone.now()
    # Who may not freeze anything learns that first, whatever they sent.
    if not rules.may_declare_any(actor):
        raise NotAllowed(errors.NOT_A_LEAD, NOT_A_LEAD_MESSAGE)
    problems: list[FieldError] = []
    reason = (reason or "").strip()
    if not reason:
        problems.append(
            FieldError("reason", errors.BLANK, "Say why: a holiday, an incident, a release.")
        )
    elif len(reason) > REASON_MAX:
        problems.append(
            FieldError("reason", errors.TOO_LONG, f"Keep the reason under {REASON_MAX} characters.")
        )
    window_ok = True
    for field, moment in (("starts_at", starts_at), ("ends_at", ends_at)):
        if timezone.is_naive(moment):
            window_ok = False
            problems.append(
                FieldError(field, errors.NOT_AWARE, "Give the time with its time zone.")
            )
    if window_ok:
        if ends_at <= starts_at:
            problems.append(
                FieldError(
                    "ends_at", errors.ENDS_BEFORE_START, "The freeze must end after it starts."
                )
            )
        elif ends_at - starts_at > LONGEST:
            problems.append(
                FieldError(
                    "ends_at",
                    errors.TOO_LONG_WINDOW,
                    f"A freeze lasts at most {LONGEST.days} days; declare another after it.",
                )
            )
        if starts_at < now - START_SLACK:
            problems.append(
                FieldError(
                    "starts_at",
                    errors.IN_PAST,
                    "A freeze cannot start in the past; start it now or later.",
                )
            )
    slugs = list(dict.fromkeys(subsystems or ()))
    found = {subsystem.slug: subsystem for subsystem in Subsystem.objects.filter(slug__in=slugs)}
    for index, slug in enumerate(slugs):
        if slug not in found:
            problems.append(
                FieldError(
                    f"subsystems[{index}]", errors.UNKNOWN_SUBSYSTEM, f"No subsystem {slug!r}."
                )
            )
    if whole_organisation and slugs:
        problems.append(
            FieldError(
                "subsystems",
                errors.BOTH_SCOPES,
                "Freeze the whole organisation or name subsystems, not both.",
            )
        )
    elif not whole_organisation and not slugs:
        problems.append(
            FieldError(
                "subsystems",
                errors.NO_SCOPE,
                "Name the subsystems to freeze, or the whole organisation.",
            )
        )
    chosen = [found[slug] for slug in slugs if slug in found]
    if chosen and not rules.may_freeze(actor, whole_organisation=False, subsystems=chosen):
        raise NotAllowed(
            errors.NOT_A_LEAD,
            "You may freeze only the subsystems of the sections you lead: "
            + ", ".join(
                sorted(
                    s.name
                    for s in chosen
                    if not rules.may_freeze(actor, whole_organisation=False, subsystems=[s])
                )
            )
            + " are not yours.",
        )
    if problems:
        raise FreezeInvalid(problems)
    with transaction.atomic():
        freeze = ChangeFreeze.objects.create(
            reason=reason,
            starts_at=starts_at,
            ends_at=ends_at,
            whole_organisation=whole_organisation,
            declared_by=actor,
            declared_at=now,
        )
        freeze.subsystems.set(chosen)
        record_event(
            code=EventCode.FREEZE_DECLARED,
            actor=actor,
            reason=reason,
            data={
                "freeze": freeze.pk,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "whole_organisation": whole_organisation,
                "subsystems": sorted(slugs),
            },
            occurred_at=now,
        )
    return freeze


def freeze_end(
    *, freeze_id: int, actor: User, reason: str = "", now: datetime | None = None
) -> ChangeFreeze:
    """End a freeze in force early (WDG-522) or cancel one not yet started (WDG-523).

    Held wedges move again on the next tick: it re-reads every held wedge
    (``wedges.services.rollout._tick_one``), so nothing waits for ``ends_at``.
    """
    now = now or timezone.now()
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise FreezeInvalid(
            [
                FieldError(
                    "reason", errors.TOO_LONG, f"Keep the reason under {REASON_MAX} characters."
                )
            ]
        )
    with transaction.atomic():
        freeze = ChangeFreeze.objects.select_for_update().get(pk=freeze_id)
        subsystems = list(freeze.subsystems.all())
        if not rules.may_freeze(
            actor, whole_organisation=freeze.whole_organisation, subsystems=subsystems
        ):
            raise NotAllowed(
                errors.NOT_A_LEAD,
                "Only a section lead who could have declared this freeze may end it.",
            )
        status = freeze.status_at(now)
        if status not in (FreezeStatus.SCHEDULED, FreezeStatus.IN_FORCE):
            raise Refused(
                errors.ALREADY_ENDED, f"This freeze is {status.label.lower()}; nothing to end."
            )
        cancelled = status == FreezeStatus.SCHEDULED
        freeze.ended_at = now
        freeze.ended_by = actor
        freeze.end_reason = reason
        freeze.save(update_fields=["ended_at", "ended_by", "end_reason"])
        record_event(
            code=EventCode.FREEZE_CANCELLED if cancelled else EventCode.FREEZE_ENDED,
            actor=actor,
            reason=reason,
            data={"freeze": freeze.pk, "ends_at": freeze.ends_at},
            occurred_at=now,
        )
    return freeze
