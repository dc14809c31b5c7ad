"""Who is on the other end of a request, for lockouts and throttles."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address: ``REMOTE_ADDR``, or from ``X-Forwarded-For`` behind proxies.

    With ``WEDGE_TRUSTED_PROXIES`` = N reverse proxies in front, each appends
    the address it was reached from, so the client is the N-th address from
    the right; whatever a client puts further left is its own claim and is
    ignored. With no proxies the header is not read at all, since anyone
    could send it.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies: int = getattr(settings, "WEDGE_TRUSTED_PROXIES", 0)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    if proxies <= 0 or not forwarded:
        return remote
    addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not addresses:
        return remote
    return addresses[-min(proxies, len(addresses))][:45]
