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
from typing import Any

from django.conf import settings

from org.models import Subsystem
from wedges import hooks
from wedges.models import ChangeType
from wedges.policy import (
    Issue,
    Report,
    ValidationContext,
    child_path,
    unstorable_character,
    validate,
)
from wedges.policy import codes as policy_codes

ENVELOPE_FIELDS = (
    "title",
    "description",
    "change_type",
    "subsystem",
    "external_reference",
    "rollout_wedge",
)
_TEXT_LIMITS = {"title": 200, "description": 20_000, "external_reference": 500}

# Envelope error codes (the wedge's own codes live in wedges.policy.codes).
REQUIRED = policy_codes.REQUIRED
WRONG_TYPE = policy_codes.WRONG_TYPE
UNKNOWN_KEY = policy_codes.UNKNOWN_KEY
INVALID_CHARACTERS = policy_codes.INVALID_CHARACTERS
BLANK = "blank"
TOO_LONG = "too_long"
INVALID_CHOICE = "invalid_choice"
UNKNOWN_SUBSYSTEM = "unknown_subsystem"


@dataclass
class SubmissionCheck:
    """The verdict on a submission; ``cleaned`` holds the envelope values that passed."""

    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    total_duration_hours: float | None = None
    subsystem: Subsystem | None = None
    cleaned: dict[str, Any] = field(default_factory=dict)

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


def _error(check: SubmissionCheck, path: str | None, code: str, message: str) -> None:
    check.errors.append(Issue(path, code, message, None, False))


def _storable(check: SubmissionCheck, name: str, value: str) -> bool:
    """Whether the text can be stored at all (no NUL, no lone surrogate); reports it if not."""
    problem = unstorable_character(value)
    if problem is not None:
        message = f"{name} contains {problem}, which no text can hold"
        _error(check, name, INVALID_CHARACTERS, message)
    return problem is None


def _text(check: SubmissionCheck, data: Mapping[str, Any], name: str, *, required: bool) -> None:
    value = data.get(name)
    if value is None:
        if required:
            _error(check, name, REQUIRED, f"{name} is required")
        else:
            check.cleaned[name] = ""
        return
    if not isinstance(value, str):
        _error(check, name, WRONG_TYPE, f"{name} must be a string")
        return
    if not _storable(check, name, value):
        return
    value = value.strip()
    if required and not value:
        _error(check, name, BLANK, f"{name} may not be blank")
    elif len(value) > _TEXT_LIMITS[name]:
        _error(check, name, TOO_LONG, f"{name} is longer than {_TEXT_LIMITS[name]} characters")
    else:
        check.cleaned[name] = value


def _change_type(check: SubmissionCheck, data: Mapping[str, Any]) -> None:
    value = data.get("change_type")
    if value is None:
        _error(check, "change_type", REQUIRED, "change_type is required")
    elif isinstance(value, str) and not _storable(check, "change_type", value):
        return
    elif value not in ChangeType.values:
        choices = ", ".join(ChangeType.values)
        _error(check, "change_type", INVALID_CHOICE, f"change_type must be one of {choices}")
    else:
        check.cleaned["change_type"] = value


def _subsystem(check: SubmissionCheck, data: Mapping[str, Any]) -> None:
    value = data.get("subsystem")
    if value is None:
        _error(check, "subsystem", REQUIRED, "subsystem is required (its slug)")
        return
    if not isinstance(value, str):
        _error(check, "subsystem", WRONG_TYPE, "subsystem must be a slug string")
        return
    if not _storable(check, "subsystem", value):
        return  # PostgreSQL cannot even compare it
    subsystem = Subsystem.objects.select_related("section").filter(slug=value).first()
    if subsystem is None:
        known = list(Subsystem.objects.values_list("slug", flat=True))
        message = f"no subsystem {value!r}"
        if match := difflib.get_close_matches(value, known, n=1):
            message += f"; did you mean {match[0]!r}?"
        _error(check, "subsystem", UNKNOWN_SUBSYSTEM, message)
        return
    check.subsystem = subsystem
    check.cleaned["subsystem"] = subsystem


def check_submission(data: object) -> SubmissionCheck:
    """Judge a proposal submission (the API's JSON body, or what the form built)."""
    check = SubmissionCheck()
    if not isinstance(data, Mapping):
        _error(check, None, policy_codes.NOT_AN_OBJECT, "The body must be a JSON object.")
        return check
    for key in data:
        if key not in ENVELOPE_FIELDS:
            message = f"unknown field {key!r}"
            if match := difflib.get_close_matches(str(key), ENVELOPE_FIELDS, n=1):
                message += f"; did you mean {match[0]!r}?"
            _error(check, child_path(None, key), UNKNOWN_KEY, message)
    _text(check, data, "title", required=True)
    _text(check, data, "description", required=False)
    _text(check, data, "external_reference", required=False)
    _change_type(check, data)
    _subsystem(check, data)
    if "rollout_wedge" not in data:
        _error(check, "rollout_wedge", REQUIRED, "rollout_wedge is required")
        return check
    check_wedge(check, data["rollout_wedge"])
    return check


def _provider_names(document: object) -> frozenset[str] | None:
    """The metric providers rule 11 checks names against; read only when queries name one."""
    if isinstance(document, Mapping) and document.get("metric_queries"):
        return hooks.provider_names()
    return None


def check_wedge(check: SubmissionCheck, document: object) -> SubmissionCheck:
    """Add the policy's verdict on a ``rollout_wedge`` document to ``check``."""
    critical = check.subsystem.is_critical if check.subsystem else False
    context = ValidationContext(
        subsystem_critical=critical,
        max_stage_hours=settings.WEDGE_MAX_STAGE_HOURS,
        providers=_provider_names(document),
    )
    report = validate(document, context)
    check.errors.extend(report.errors)
    check.warnings.extend(report.warnings)
    check.total_duration_hours = report.total_duration_hours
    if report.valid or report.waiver_required:
        check.cleaned["rollout_wedge"] = document
    return check
