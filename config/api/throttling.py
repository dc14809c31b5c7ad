"""Failing API tokens are throttled per client address.

Keys have at least 160 random bits, so guessing one is hopeless; the
throttle keeps floods of bad keys (and a misconfigured agent) from costing a
lookup each, and makes them visible as 429s. Only failures are counted, but
an address over the limit is refused before its key is even looked up, so
what it guesses cannot be confirmed while the window lasts.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from org.clients import client_ip


class FailedTokenThrottle(SimpleRateThrottle):
    """At most ``WEDGE_API_TOKEN_FAILURES_PER_MINUTE`` failing tokens per address a minute."""

    scope = "failed_token"
    num_requests: int
    duration: int
    cache_format = "wedge:throttle:%(scope)s:%(ident)s"

    def get_rate(self) -> str:
        # Read when used, not at import, so a changed setting takes effect.
        return f"{settings.WEDGE_API_TOKEN_FAILURES_PER_MINUTE}/min"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(_django(request))}

    def _load(self, request: Request) -> None:
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        self.history = [
            moment for moment in self.cache.get(self.key, []) if moment > self.now - self.duration
        ]

    def blocked(self, request: Request) -> bool:
        """Whether the address has used up its failures for now (see ``wait``)."""
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request: Request) -> None:
        self._load(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history[: self.num_requests], self.duration)


def _django(request: Any) -> Any:
    return getattr(request, "_request", request)
