"""Sessions end after SESSION_COOKIE_AGE without use (idle expiry)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

# How often a used session has its expiry pushed back: rewriting it on every
# request would cost a write per page and per poll.
REFRESH_SECONDS: Final = 60
_KEY: Final = "_wedge_seen"


class IdleSessionMiddleware:
    """Keep a signed-in session alive while it is used, at most one write a minute.

    Django sets a session's expiry when the session is saved; saving it now
    and then while it is in use makes ``SESSION_COOKIE_AGE`` an idle timeout
    (``SESSION_SAVE_EVERY_REQUEST`` would do the same at a write per request).
    htmx polling (a GET the page sends by itself) is not use: a tab left
    open on the dashboard still signs out.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        # Only sessions that are signed in: an API call with a token must
        # not start one.
        if session is None or SESSION_KEY not in session:
            return response
        if request.method == "GET" and request.headers.get("HX-Request") == "true":
            return response
        now = int(time.time())
        if now - int(session.get(_KEY, 0)) >= REFRESH_SECONDS:
            session[_KEY] = now
        return response


def mark_signed_in(sender: Any, request: HttpRequest, **kwargs: Any) -> None:
    """Signing in is use: the session is saved then anyway, so the next request need not."""
    session = getattr(request, "session", None)
    if session is not None:
        session[_KEY] = int(time.time())
