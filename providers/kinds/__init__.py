"""Kinds of metric provider: one module each, behind one small interface.

A kind answers one question — the value of a query at a moment —
``query(text, at) -> Reading``, or raises ``QueryFailed``. Polling, fan-out,
bounds, timeouts between queries and failure counting live once, in
``providers.polling``; a new kind (Datadog, CloudWatch) is one module here and
one line in ``KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final, Protocol

import requests

if TYPE_CHECKING:
    from providers.config import ProviderConfig


@dataclass(frozen=True)
class Reading:
    """A query's answer: a finite number, or ``None`` when the provider has no data.

    ``note`` says why there is no value (``"empty result"``, ``"NaN"``), for the pages.
    """

    value: float | None
    note: str = ""


class QueryFailed(Exception):
    """The provider could not answer the query; ``code`` is stable, ``message`` for people."""

    # The stable codes, as the proposal page and the audit trail show them.
    TIMEOUT: Final = "timeout"
    CONNECTION: Final = "connection_error"
    HTTP: Final = "http_error"
    QUERY: Final = "query_error"  # the provider refused the query (bad PromQL)
    MULTIPLE_SERIES: Final = "multiple_series"
    BAD_RESPONSE: Final = "bad_response"
    UNKNOWN_PROVIDER: Final = "unknown_provider"
    RENDER: Final = "render_error"
    # Not a failure of the provider: the round's time ran out before the query
    # was sent (its provider was busy with others). The query is asked next round.
    NO_TIME: Final = "no_time_left"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Kind(Protocol):
    def query(self, text: str, at: datetime) -> Reading:
        """The value of ``text`` at ``at``; raises ``QueryFailed``."""
        ...


KindFactory = Callable[["ProviderConfig", requests.Session], Kind]


def _kinds() -> dict[str, KindFactory]:
    from providers.kinds.prometheus import Prometheus

    return {"prometheus": Prometheus}


KIND_NAMES: Final = ("prometheus",)


def build(config: ProviderConfig, session: requests.Session) -> Kind:
    """A client of ``config``'s kind, talking through ``session``."""
    return _kinds()[config.kind](config, session)
