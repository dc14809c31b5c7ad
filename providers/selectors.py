"""Reads the pages share: a proposal's queries with their last answers, failing wedges."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings

from providers.models import PolledWedge
from wedges.models import ChangeProposal


@dataclass(frozen=True)
class QueryRow:
    metric: str
    provider: str
    query: str
    rendered: str
    value: float | None
    note: str
    read_at: datetime | None
    error: str
    error_code: str
    error_at: datetime | None
    failures: int

    @property
    def failing(self) -> bool:
        return self.failures > 0

    @property
    def status(self) -> str:
        if self.failures:
            return "failing"
        if self.read_at is None:
            return "not read yet"
        return "no data" if self.value is None else "ok"


@dataclass(frozen=True)
class QueriesPanel:
    proposal: ChangeProposal
    rows: list[QueryRow]
    polled_at: datetime | None
    failing_since: datetime | None
    interval_seconds: float
    failure_limit: int


def _moment(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None


def queries_panel(proposal: ChangeProposal) -> QueriesPanel | None:
    """The proposal's metric queries and how each last answered; ``None`` without queries."""
    poll = PolledWedge.objects.filter(wedge__proposal_id=proposal.pk).first()
    if poll is None:
        return None
    rows = [
        QueryRow(
            metric=row["metric"],
            provider=str(row.get("provider", "")),
            query=str(row.get("query", "")),
            rendered=str(row.get("rendered", "")),
            value=row.get("value"),
            note=str(row.get("note") or ""),
            read_at=_moment(row.get("read_at")),
            error=str(row.get("error") or ""),
            error_code=str(row.get("error_code") or ""),
            error_at=_moment(row.get("error_at")),
            failures=int(row.get("failures") or 0),
        )
        for row in poll.rows()
    ]
    return QueriesPanel(
        proposal=proposal,
        rows=rows,
        polled_at=poll.polled_at,
        failing_since=poll.failing_since,
        interval_seconds=settings.WEDGE_METRICS_POLL_SECONDS,
        failure_limit=settings.WEDGE_METRICS_FAILURE_LIMIT,
    )


def failing_wedge_ids(wedge_ids: Iterable[int]) -> set[int]:
    """Which of these wedges have metric queries failing now (one query)."""
    ids = list(wedge_ids)
    if not ids:
        return set()
    return set(
        PolledWedge.objects.filter(pk__in=ids, failing_since__isnull=False).values_list(
            "pk", flat=True
        )
    )
