"""Where webhook deliveries may go, and connecting to nowhere else.

Anyone who may subscribe chooses the URL the webhook workers POST to, from
inside the network Wedge runs in. So by default a destination must be a
public address: loopback, private, link-local (the cloud metadata service),
CGNAT, multicast, reserved and unspecified addresses are refused, and so are
the IPv6 forms that carry one of them (IPv4-mapped, IPv4-compatible, 6to4,
NAT64). With ``DEBUG`` off it must also be https.

The host is checked when a subscription is registered and again at every
attempt, after resolving its name once; the attempt then connects to an
address it checked and never asks the resolver again, so a name that answers
differently the second time (DNS rebinding) gains nothing. The URL's host
still names the receiver: in the Host header, in TLS's server name and in the
certificate check.

``WEDGE_WEBHOOK_ALLOW_PRIVATE`` lets any address through (a local instance,
the tests, receivers on one's own network); ``WEDGE_WEBHOOK_ALLOW_HTTP``
allows plain http.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest

from webhooks import errors

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# IPv6 ranges whose last 32 bits are an IPv4 address the packets end up at.
_CARRY_IPV4 = (
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, the well-known prefix
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated)
)
# Not public, though the ipaddress tables of some Python versions say so.
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"),)  # NAT64 for local use

_DEFAULT_PORTS = {"http": 80, "https": 443}


class DestinationRefused(Exception):
    """A destination deliveries may not go to; ``short`` is what the delivery log says."""

    def __init__(self, code: str, message: str, short: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.short = short


@dataclass(frozen=True)
class Destination:
    """A URL's host, resolved once and checked."""

    scheme: str
    host: str  # as requests sends it (IDNA-encoded); what TLS verifies
    port: int
    addresses: tuple[str, ...]  # every one allowed, in the resolver's order


def is_public(address: Address) -> bool:
    """Whether an address is on the public internet and reaches one host."""
    if address.is_multicast or not address.is_global:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and any(address in network for network in _CARRY_IPV4):
            inner = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        if inner is not None:
            return is_public(inner)
    return True


def _address_allowed(text: str) -> bool:
    if settings.WEDGE_WEBHOOK_ALLOW_PRIVATE:
        return True
    try:
        return is_public(ipaddress.ip_address(text))
    except ValueError:
        return False


def _check_scheme(scheme: str) -> None:
    if scheme == "https" or (scheme == "http" and settings.WEDGE_WEBHOOK_ALLOW_HTTP):
        return
    raise DestinationRefused(
        errors.HTTPS_REQUIRED,
        "Use an https:// URL: deliveries over plain http are turned off.",
        "https required",
    )


def _unresolvable() -> DestinationRefused:
    return DestinationRefused(
        errors.UNRESOLVABLE_HOST,
        "The URL's host name does not resolve: check it, or try again if DNS is down.",
        "host not found",
    )


def resolve(url: str) -> Destination:
    """Resolve the URL's host once and check every address; refuse if any is not allowed."""
    prepared = PreparedRequest()
    try:
        # The host exactly as requests will send it (IDNA-encoded), so the
        # name resolved here is the name the Host header and TLS carry.
        prepared.prepare_url(url, None)
        parts = urlsplit(str(prepared.url))
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    except (requests.RequestException, ValueError):
        raise _unresolvable() from None
    _check_scheme(parts.scheme)
    host = parts.hostname
    if not host:
        raise _unresolvable()
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError):  # UnicodeError is a ValueError
        raise _unresolvable() from None
    addresses = tuple(
        dict.fromkeys(
            str(sockaddr[0])
            for family, _, _, _, sockaddr in found
            if family in (socket.AF_INET, socket.AF_INET6)
        )
    )
    if not addresses:
        raise _unresolvable()
    if not all(_address_allowed(address) for address in addresses):
        raise DestinationRefused(
            errors.DESTINATION_NOT_ALLOWED,
            "Webhooks go to public addresses only: this host is, or resolves to, a loopback, "
            "private, link-local or otherwise non-public address.",
            "destination not allowed",
        )
    return Destination(scheme=parts.scheme, host=host, port=port, addresses=addresses)


def check_registration(url: str) -> None:
    """Refuse a subscription URL that no attempt would be allowed to post to.

    Only a check: every attempt resolves and checks again.
    """
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        raise _unresolvable() from None
    _check_scheme(scheme)
    if not settings.WEDGE_WEBHOOK_ALLOW_PRIVATE:
        resolve(url)


class PinnedAdapter(HTTPAdapter):
    """Connects to one checked address, whatever the URL's host would resolve to now."""

    def __init__(self, destination: Destination, address: str) -> None:
        super().__init__(max_retries=0)
        self.destination = destination
        self.address = address

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[Any, Any]:
        attributes = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params: dict[str, Any] = dict(attributes[0])
        pool_kwargs: dict[str, Any] = dict(attributes[1])
        if (host_params["scheme"], host_params["host"]) != (
            self.destination.scheme,
            self.destination.host,
        ):
            raise requests.exceptions.InvalidURL("Not the destination that was checked.")
        host_params["host"] = self.address
        if host_params["scheme"] == "https":
            # SNI and the certificate check on the name, not the address.
            pool_kwargs["server_hostname"] = self.destination.host
        return host_params, pool_kwargs

    def add_headers(self, request: PreparedRequest, **kwargs: Any) -> None:
        # Otherwise the Host header would name the address connected to.
        request.headers["Host"] = urlsplit(str(request.url)).netloc.rpartition("@")[2]


def pinned_session(destination: Destination, address: str) -> requests.Session:
    """A session whose every request to the destination goes to ``address``."""
    session = requests.Session()
    # No proxy or .netrc from the environment: a proxy would resolve the name again.
    session.trust_env = False
    adapter = PinnedAdapter(destination, address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
