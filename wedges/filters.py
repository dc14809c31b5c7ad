"""Filters of the proposal list, shared by its page and the API."""

from __future__ import annotations

from typing import Any

import django_filters

from wedges import selectors
from wedges.models import ChangeProposal, ChangeType, State


class ProposalFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        field_name="rollout_wedge__wedge_state", choices=State.choices, empty_label="Any state"
    )
    subsystem = django_filters.CharFilter(field_name="subsystem__slug")
    change_type = django_filters.ChoiceFilter(choices=ChangeType.choices, empty_label="Any type")
    author = django_filters.CharFilter(field_name="author__username")
    q = django_filters.CharFilter(method="search", label="Text search")
    waiver_required = django_filters.BooleanFilter()
    mine = django_filters.BooleanFilter(method="only_mine", label="Only my proposals")

    class Meta:
        model = ChangeProposal
        fields = ["state", "subsystem", "change_type", "author", "q", "waiver_required", "mine"]

    def search(self, queryset: Any, name: str, value: str) -> Any:
        return selectors.search(queryset, value)

    def only_mine(self, queryset: Any, name: str, value: bool) -> Any:
        user = getattr(self.request, "user", None)
        return queryset.filter(author_id=user.pk) if value and user is not None else queryset
