"""The waiver list's filters, shared by the API and the page."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet

from org.models import Subsystem
from waivers import selectors
from waivers.models import WaiverRequest, WaiverState


class WaiverFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=WaiverState.choices, empty_label="Any state")
    subsystem = django_filters.ModelChoiceFilter(
        field_name="subsystem",
        to_field_name="slug",
        queryset=Subsystem.objects.order_by("slug"),
        label="Subsystem",
        empty_label="Any subsystem",
    )
    requester = django_filters.CharFilter(field_name="requester__username", label="Requester")
    awaiting_me = django_filters.BooleanFilter(
        method="filter_awaiting_me", label="Only waivers I could approve now"
    )

    class Meta:
        model = WaiverRequest
        fields = ["state", "subsystem", "requester", "awaiting_me"]

    def filter_awaiting_me(
        self, queryset: QuerySet[WaiverRequest], name: str, value: bool | None
    ) -> QuerySet[WaiverRequest]:
        if not value or self.request is None:
            return queryset
        user: Any = self.request.user
        return selectors.awaiting(queryset, user)
