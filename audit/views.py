"""The audit trail page (``/audit/``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.urls import reverse
from django.views.generic import TemplateView

from audit.checkpoint import chain_state
from audit.codes import EventCode
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.selectors import visible_events

PAGE_SIZE = 50
_CURSORS = ("before", "after")


@dataclass(frozen=True)
class KeysetPage:
    events: list[AuditEvent]
    newer: int | None  # pass as ?after= to get the newer page
    older: int | None  # pass as ?before= to get the older page


def _cursor(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if value > 0 else None


def keyset_page(
    events: QuerySet[AuditEvent], *, before: int | None, after: int | None, size: int
) -> KeysetPage:
    """One page of ``events`` newest first, by id: one query whatever the depth."""
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: size + 1])
        more_newer = len(rows) > size
        page = rows[:size][::-1]
        more_older = True
    else:
        if before is not None:
            events = events.filter(id__lt=before)
        rows = list(events.order_by("-id")[: size + 1])
        more_older = len(rows) > size
        page = rows[:size]
        more_newer = before is not None
    return KeysetPage(
        events=page,
        newer=page[0].id if page and more_newer else None,
        older=page[-1].id if page and more_older else None,
    )


# The code filter's groups, by the start of the code: each app has its range.
_GROUPS = (
    ("RWG-", "Rollout events (the policy's)"),
    ("WDG-1", "Proposals and operator actions"),
    ("WDG-2", "Waivers"),
    ("WDG-3", "Sign-in and API tokens"),
    ("WDG-4", "Webhooks"),
    ("WDG-5", "Governance"),
)


@dataclass(frozen=True)
class CodeChoice:
    code: str
    label: str
    checked: bool


def code_groups(chosen: set[str]) -> list[tuple[str, list[CodeChoice]]]:
    """Every event code as a checkbox, grouped by what it is about."""
    groups: dict[str, list[CodeChoice]] = {title: [] for _, title in _GROUPS}
    other: list[CodeChoice] = []
    for code, label in EventCode.choices:
        choice = CodeChoice(code, str(label), code in chosen)
        title = next((title for prefix, title in _GROUPS if code.startswith(prefix)), None)
        (groups[title] if title else other).append(choice)
    ordered = [(title, choices) for title, choices in groups.items() if choices]
    return [*ordered, ("Other", other)] if other else ordered


class AuditEventListView(LoginRequiredMixin, TemplateView):
    template_name = "audit/event_list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        params = self.request.GET.copy()
        for name in (*_CURSORS, "format"):
            params.pop(name, None)
        filterset = AuditEventFilter(params or None, queryset=visible_events(self.request.user))
        query = params.urlencode()
        chosen = set(params.getlist("code"))
        context.update(
            filterset=filterset,
            form=filterset.form,
            query=query,
            code_groups=code_groups(chosen),
            codes_chosen=len(chosen),
            chain=chain_state(),
        )
        if filterset.is_bound and not filterset.is_valid():
            context["page"] = KeysetPage([], None, None)
            return context
        context["page"] = keyset_page(
            filterset.qs,
            before=_cursor(self.request.GET.get("before")),
            after=_cursor(self.request.GET.get("after")),
            size=PAGE_SIZE,
        )
        export = reverse("api:audit-events-export")
        joiner = f"?{query}&" if query else "?"
        context["export_csv_url"] = f"{export}{joiner}format=csv"
        context["export_json_url"] = f"{export}{joiner}format=json"
        return context
