"""Incidents as incident tools write them: their field names and severities, read into ours.

Pure functions, shared by the API (``POST /api/v1/incidents/``) and the CSV
import (``import_incidents``). The names are those of common exports
(PagerDuty, Opsgenie, incident.io): ``id``, ``title``, ``severity`` or
``priority``, ``created_at``/``started_at``, ``resolved_at``, ``service``,
``url``. Each problem is a ``FieldError`` naming our field, which the CSV
import turns into "row N, column X".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from django.utils.dateparse import parse_datetime

from governance import errors
from governance.errors import FieldError

# Our field -> the column names tools use for it (compared case-insensitively,
# spaces and dashes read as underscores).
COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "external_id": ("external_id", "id", "incident_id", "incident_number", "number", "reference"),
    "title": ("title", "name", "incident_title", "message"),
    "severity": ("severity", "priority", "sev"),
    "started_at": ("started_at", "created_at", "created_on", "triggered_at", "start_time"),
    "resolved_at": ("resolved_at", "resolved_on", "closed_at", "end_time"),
    "affected_percentage": (
        "affected_percentage",
        "affected",
        "affected_%",
        "affected_percent",
        "affected_pct",
        "impact_percentage",
        "impact_%",
    ),
    "subsystem": ("subsystem", "service", "service_name", "component", "affected_service"),
    "proposal": ("proposal", "proposal_id", "change", "change_id"),
    "link": ("link", "url", "html_url", "permalink"),
    "summary": ("summary", "description", "details"),
}
REQUIRED: Final = ("external_id", "title", "severity", "started_at", "affected_percentage")

# Severity words of the common tools, mapped onto ours.
_SEVERITY_WORDS: Final[Mapping[str, str]] = {
    "critical": "SEV1",
    "high": "SEV2",
    "major": "SEV2",
    "error": "SEV2",
    "medium": "SEV3",
    "moderate": "SEV3",
    "minor": "SEV3",
    "warning": "SEV3",
    "low": "SEV4",
    "info": "SEV4",
    "informational": "SEV4",
}
_SEV = re.compile(r"(?:SEV|S|P)[-_ ]?([1-5])")
MAX_EXTERNAL_ID: Final = 200
MAX_TITLE: Final = 300
MAX_LINK: Final = 500


def canonical_column(name: str) -> str | None:
    """Our field for a tool's column name, or ``None`` if we do not read it."""
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    for field, aliases in COLUMNS.items():
        if key in aliases:
            return field
    return None


def severity(value: Any) -> str | None:
    """``SEV1``..``SEV4`` from ``SEV2``, ``sev-2``, ``P1`` (P5 is SEV4) or ``critical``."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    word = _SEVERITY_WORDS.get(text.lower())
    if word is not None:
        return word
    match = _SEV.fullmatch(text.upper())
    if match is None:
        return None
    return f"SEV{min(int(match[1]), 4)}"


def moment(field: str, value: Any, problems: list[FieldError]) -> datetime | None:
    """An aware datetime from ISO 8601 text (or a datetime); a problem otherwise."""
    parsed = value if isinstance(value, datetime) else None
    if isinstance(value, str) and value.strip():
        try:
            parsed = parse_datetime(value.strip().replace(" UTC", "Z"))
        except ValueError:
            parsed = None
        if parsed is None:
            problems.append(
                FieldError(
                    field,
                    errors.INVALID_TIME,
                    f"Not a time: {value.strip()[:40]!r}; write it as ISO 8601, "
                    "e.g. 2026-11-02T09:30:00Z.",
                )
            )
            return None
    if parsed is not None and parsed.tzinfo is None:
        problems.append(
            FieldError(field, errors.NOT_AWARE, "Give the time with its time zone (Z for UTC).")
        )
        return None
    return parsed


def text(field: str, value: Any, limit: int, problems: list[FieldError]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str | int):
        problems.append(FieldError(field, errors.INVALID_TYPE, "Give text here."))
        return ""
    cleaned = str(value).strip()
    if len(cleaned) > limit:
        problems.append(FieldError(field, errors.TOO_LONG, f"Longer than {limit} characters."))
    return cleaned
