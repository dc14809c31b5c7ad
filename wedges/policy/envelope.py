"""The proposal around a rollout wedge: its envelope fields, judged without a database.

A submission is ``{"title", "description", "change_type", "subsystem",
"external_reference", "rollout_wedge"}``. Everything about the envelope that
needs no organisation data is checked here, once, for the server
(``wedges.submission``) and the ``wedge`` command-line tool alike. Whether the
subsystem exists, and whether it is critical, is the server's to say: here
``subsystem`` is only checked to be text.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from . import codes
from .validation import Issue, child_path, unstorable_character

ENVELOPE_FIELDS: Final = (
    "title",
    "description",
    "change_type",
    "subsystem",
    "external_reference",
    "rollout_wedge",
)
TEXT_LIMITS: Final = {"title": 200, "description": 20_000, "external_reference": 500}

# Envelope error codes (the wedge's own codes live in ``codes``).
BLANK: Final = "blank"
TOO_LONG: Final = "too_long"
INVALID_CHOICE: Final = "invalid_choice"
UNKNOWN_SUBSYSTEM: Final = "unknown_subsystem"  # the server's: it knows the subsystems


class ChangeType(StrEnum):
    """The kinds of change the policy's scope names."""

    CONNECTOR_DEPLOYMENT = "connector_deployment"
    CONTROL_PLANE = "control_plane"
    POLICY_UPDATE = "policy_update"
    SECURITY_PATCH = "security_patch"


CHANGE_TYPES: Final = tuple(kind.value for kind in ChangeType)
CHANGE_TYPE_LABELS: Final = {
    ChangeType.CONNECTOR_DEPLOYMENT: "Connector deployment",
    ChangeType.CONTROL_PLANE: "Control plane change",
    ChangeType.POLICY_UPDATE: "Policy update",
    ChangeType.SECURITY_PATCH: "Security patch",
}

# What to ask for when an envelope field is missing, in the form's words.
_ENTER: Final = {
    "title": "Enter a title that says what the change does.",
    "change_type": "Choose the type of change.",
    "subsystem": "Choose the subsystem the change deploys to.",
    "rollout_wedge": "Describe the rollout wedge.",
}


@dataclass
class EnvelopeCheck:
    """The envelope's errors, the values that passed, and the subsystem slug to look up."""

    errors: list[Issue] = field(default_factory=list)
    cleaned: dict[str, Any] = field(default_factory=dict)
    subsystem_slug: str | None = None

    def error(self, path: str | None, code: str, message: str, text: str = "") -> None:
        """An error: ``message`` in the API's words, ``text`` in a person's (see ``Issue``)."""
        self.errors.append(Issue(path, code, message, None, False, text))


def is_proposal(document: object) -> bool:
    """Whether ``document`` is a whole submission rather than just its ``rollout_wedge``.

    It is when it has any envelope field: a proposal that forgot its wedge is
    still a proposal (``rollout_wedge is required``), not a wedge of unknown keys.
    """
    return isinstance(document, Mapping) and any(name in document for name in ENVELOPE_FIELDS)


def check_envelope(data: object) -> EnvelopeCheck:
    """Judge the envelope of a submission, in field order; see the module docstring.

    The wedge itself is ``validate``'s; here it is only required.
    """
    check = EnvelopeCheck()
    if not isinstance(data, Mapping):
        check.error(
            None,
            codes.NOT_AN_OBJECT,
            "The body must be a JSON object.",
            "The submission must be a proposal with its rollout wedge.",
        )
        return check
    for key in data:
        if key not in ENVELOPE_FIELDS:
            message = f"unknown field {key!r}"
            if match := difflib.get_close_matches(str(key), ENVELOPE_FIELDS, n=1):
                message += f"; did you mean {match[0]!r}?"
            check.error(
                child_path(None, key),
                codes.UNKNOWN_KEY,
                message,
                f"{message[:1].upper()}{message[1:]}.",
            )
    _text(check, data, "title", required=True)
    _text(check, data, "description", required=False)
    _text(check, data, "external_reference", required=False)
    _change_type(check, data)
    _subsystem(check, data)
    if "rollout_wedge" not in data:
        check.error(
            "rollout_wedge", codes.REQUIRED, "rollout_wedge is required", _ENTER["rollout_wedge"]
        )
    return check


def _storable(check: EnvelopeCheck, name: str, value: str) -> bool:
    """Whether the text can be stored at all (no NUL, no lone surrogate); reports it if not."""
    problem = unstorable_character(value)
    if problem is not None:
        check.error(
            name,
            codes.INVALID_CHARACTERS,
            f"{name} contains {problem}, which no text can hold",
            f"Remove {problem}: no text can hold it.",
        )
    return problem is None


def _text(check: EnvelopeCheck, data: Mapping[str, Any], name: str, *, required: bool) -> None:
    value = data.get(name)
    if value is None:
        if required:
            check.error(name, codes.REQUIRED, f"{name} is required", _ENTER[name])
        else:
            check.cleaned[name] = ""
        return
    if not isinstance(value, str):
        check.error(name, codes.WRONG_TYPE, f"{name} must be a string", "Enter text.")
        return
    if not _storable(check, name, value):
        return
    value = value.strip()
    if required and not value:
        check.error(name, BLANK, f"{name} may not be blank", _ENTER[name])
    elif len(value) > TEXT_LIMITS[name]:
        limit = TEXT_LIMITS[name]
        check.error(
            name,
            TOO_LONG,
            f"{name} is longer than {limit} characters",
            f"Use at most {limit:,} characters (this has {len(value):,}).",
        )
    else:
        check.cleaned[name] = value


def _change_type(check: EnvelopeCheck, data: Mapping[str, Any]) -> None:
    value = data.get("change_type")
    if value is None:
        check.error("change_type", codes.REQUIRED, "change_type is required", _ENTER["change_type"])
    elif isinstance(value, str) and not _storable(check, "change_type", value):
        return
    elif value not in CHANGE_TYPES:
        choices = ", ".join(CHANGE_TYPES)
        labels = ", ".join(label.lower() for label in CHANGE_TYPE_LABELS.values())
        check.error(
            "change_type",
            INVALID_CHOICE,
            f"change_type must be one of {choices}",
            f"Choose one of: {labels}.",
        )
    else:
        check.cleaned["change_type"] = value


def _subsystem(check: EnvelopeCheck, data: Mapping[str, Any]) -> None:
    value = data.get("subsystem")
    if value is None:
        check.error(
            "subsystem", codes.REQUIRED, "subsystem is required (its slug)", _ENTER["subsystem"]
        )
    elif not isinstance(value, str):
        check.error(
            "subsystem", codes.WRONG_TYPE, "subsystem must be a slug string", _ENTER["subsystem"]
        )
    elif _storable(check, "subsystem", value):  # else PostgreSQL could not even compare it
        check.subsystem_slug = value
