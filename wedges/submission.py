"""Checking a whole submission: the proposal's own fields and its rollout wedge.

This is the one entry point that the API, the web form, the dry run and the
``validate_wedge`` command share, so all of them give the same verdict. The
wedge itself is judged by the pure policy engine (``wedges.policy``); this
module adds what needs the database: the subsystem (and whether it is critical)
and the proposal's envelope fields.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from org.models import Subsystem
from policies.models import PolicyVersion
from policies.selectors import thresholds_in_force
from wedges import hooks
from wedges.policy import (
    Issue,
    Report,
    ValidationContext,
    envelope,
    validate,
)
from wedges.policy import codes as policy_codes
from wedges.policy.envelope import check_envelope
from wedges.policy.thresholds import FLOOR

ENVELOPE_FIELDS = envelope.ENVELOPE_FIELDS

# Envelope error codes (the wedge's own codes live in wedges.policy.codes).
REQUIRED = policy_codes.REQUIRED
WRONG_TYPE = policy_codes.WRONG_TYPE
UNKNOWN_KEY = policy_codes.UNKNOWN_KEY
INVALID_CHARACTERS = policy_codes.INVALID_CHARACTERS
BLANK = envelope.BLANK
TOO_LONG = envelope.TOO_LONG
INVALID_CHOICE = envelope.INVALID_CHOICE
UNKNOWN_SUBSYSTEM = envelope.UNKNOWN_SUBSYSTEM


@dataclass
class SubmissionCheck:
    """The verdict on a submission; ``cleaned`` holds the envelope values that passed."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    total_duration_hours: float | None = None
    subsystem: Subsystem | None = None
    cleaned: dict[str, Any] = field(default_factory=dict)
    # The policy version in force when the wedge was judged ("validated under").
    policy_version: PolicyVersion | None = None

    @property
    def report(self) -> Report:
        """The whole verdict (envelope and wedge) in the policy's own terms."""
        return Report(tuple(self.errors), tuple(self.warnings), self.total_duration_hours)

    @property
    def valid(self) -> bool:
        return self.report.valid

    @property
    def waiver_required(self) -> bool:
        """Every error is one a waiver may lift (policy rules 1, 4 and 5)."""
        return self.report.waiver_required

    @property
    def waivable_codes(self) -> list[str]:
        return list(self.report.waivable_codes)

    @property
    def storable(self) -> bool:
        return self.valid or self.waiver_required

    def to_dict(self) -> dict[str, Any]:
        """The dry run's answer."""
        return self.report.to_dict()


def _error(
    check: SubmissionCheck, path: str | None, code: str, message: str, text: str = ""
) -> None:
    check.errors.append(Issue(path, code, message, None, False, text))


def _subsystem(check: SubmissionCheck, slug: str) -> None:
    subsystem = Subsystem.objects.select_related("section").filter(slug=slug).first()
    if subsystem is None:
        known = list(Subsystem.objects.values_list("slug", flat=True))
        message = f"no subsystem {slug!r}"
        text = f"There is no subsystem {slug!r}"
        if match := difflib.get_close_matches(slug, known, n=1):
            message += f"; did you mean {match[0]!r}?"
            text += f"; did you mean {match[0]!r}?"
        _error(check, "subsystem", UNKNOWN_SUBSYSTEM, message, text if match else text + ".")
        return
    check.subsystem = subsystem
    check.cleaned["subsystem"] = subsystem


def check_submission(data: object, *, now: datetime | None = None) -> SubmissionCheck:
    """Judge a proposal submission (the API's body, or what the form built).

    The envelope is the policy core's (``wedges.policy.envelope``, shared with
    the ``wedge`` CLI); the subsystem lookup and its criticality are this
    module's, since they need the database. The wedge is judged under the
    policy version in force at ``now`` (the moment of the check).
    """
    check = SubmissionCheck()
    judged = check_envelope(data)
    check.errors.extend(judged.errors)
    check.cleaned.update(judged.cleaned)
    if judged.subsystem_slug is not None:
        _subsystem(check, judged.subsystem_slug)
    if isinstance(data, Mapping) and "rollout_wedge" in data:
        check_wedge(check, data["rollout_wedge"], now=now)
    return check


def _provider_names(document: object) -> frozenset[str] | None:
    """The metric providers rule 11 checks names against; read only when queries name one."""
    if isinstance(document, Mapping) and document.get("metric_queries"):
        return hooks.provider_names()
    return None


def check_wedge(
    check: SubmissionCheck,
    document: object,
    *,
    now: datetime | None = None,
    offline: bool = False,
) -> SubmissionCheck:
    """Add the policy's verdict on a ``rollout_wedge`` document to ``check``.

    Judged under the policy version in force at ``now``, which ``check``
    records (``policy_version``): the proposal stores it, and its wedge runs
    under it. ``offline`` judges under version 1 without asking the database
    (``validate_wedge`` in a CI step with no database).
    """
    critical = check.subsystem.is_critical if check.subsystem else False
    if offline:
        version, thresholds = None, FLOOR
    else:
        version, thresholds = thresholds_in_force(now or timezone.now())
    check.policy_version = version
    context = ValidationContext(
        subsystem_critical=critical,
        max_stage_hours=max(
            settings.WEDGE_MAX_STAGE_HOURS, thresholds.min_observation_window_hours
        ),
        providers=_provider_names(document),
        thresholds=thresholds,
    )
    report = validate(document, context)
    check.errors.extend(report.errors)
    check.warnings.extend(report.warnings)
    check.total_duration_hours = report.total_duration_hours
    if report.valid or report.waiver_required:
        check.cleaned["rollout_wedge"] = document
    return check
