"""Filters of the incident API: ``?quarter=2026Q4``, ``?proposal=``, ``?severity=``."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from governance.models import Incident, Severity
from governance.report import Quarter, QuarterError


class QuarterField(forms.CharField):
    """``YYYYQn`` as a ``Quarter``; a bad value is a field error with code ``invalid_quarter``."""

    def to_python(self, value: Any) -> Quarter | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            return Quarter.parse(text)
        except QuarterError as bad:
            # The message quotes the input; Django formats it with ``%``, so a
            # ``%`` the client sent must not be read as a format directive.
            raise forms.ValidationError(
                str(bad).replace("%", "%%"), code="invalid_quarter"
            ) from None


@extend_schema_field(OpenApiTypes.STR)
class QuarterFilter(django_filters.Filter):
    field_class = QuarterField

    def filter(self, qs: QuerySet[Incident], value: Quarter | None) -> QuerySet[Incident]:
        if value is None:
            return qs
        return qs.filter(occurred_at__gte=value.start, occurred_at__lt=value.end)


class IncidentFilter(django_filters.FilterSet):
    quarter = QuarterFilter()
    proposal = django_filters.NumberFilter(field_name="proposal_id")
    severity = django_filters.ChoiceFilter(choices=Severity.choices)

    class Meta:
        model = Incident
        fields = ["quarter", "proposal", "severity"]
