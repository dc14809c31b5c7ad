"""The audit trail's filters, shared by the page, the API and the exports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from audit.codes import EventCode
from audit.models import AuditEvent


class IsoDateTimeOrDateField(forms.Field):
    """An ISO 8601 date and time, or a date (midnight); naive values are UTC."""

    widget = forms.DateTimeInput(attrs={"placeholder": "2026-11-28T09:30:00Z"})
    default_error_messages = {
        "invalid": "Enter an ISO 8601 date or date and time, e.g. 2026-11-28T09:30:00Z.",
    }

    def to_python(self, value: Any) -> dt.datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        try:
            parsed = parse_datetime(text)
            if parsed is None:
                day = parse_date(text)
                parsed = dt.datetime.combine(day, dt.time.min) if day is not None else None
        except ValueError:  # well-formed but impossible, such as month 13
            parsed = None
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=dt.UTC)
        try:
            # In UTC, so the database never sees an offset it cannot take
            # (PostgreSQL refuses offsets beyond +/-15:59).
            return parsed.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None


@extend_schema_field(OpenApiTypes.DATETIME)
class DateTimeFilter(django_filters.Filter):
    field_class = IsoDateTimeOrDateField


@extend_schema_field(OpenApiTypes.INT64)
class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        super().__init__(*args, **kwargs)


class AuditEventFilter(django_filters.FilterSet):
    proposal = IdFilter(field_name="proposal_id", label="Proposal id")
    waiver = IdFilter(field_name="waiver_id", label="Waiver id")
    code = django_filters.MultipleChoiceFilter(
        choices=EventCode.choices,
        # One code per row: DISTINCT would only add a sort of the whole result.
        distinct=False,
        label="Event codes",
        help_text="Repeat the parameter for several codes: ?code=RWG-001&code=RWG-003.",
    )
    actor = django_filters.CharFilter(
        field_name="actor_label",
        max_length=150,
        label="Actor",
        help_text='Username as recorded, or "system" / "anonymous".',
    )
    since = DateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="Since (UTC)",
        help_text="Events at or after this time (ISO 8601; a date means midnight UTC).",
    )
    until = DateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        label="Until (UTC)",
        help_text="Events before this time (ISO 8601; a date means midnight UTC).",
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
