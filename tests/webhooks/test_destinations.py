"""Where deliveries may go: public addresses only unless allowed, checked again at every attempt."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import urllib3.util.connection
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from webhooks import destinations
from webhooks.models import Delivery, DeliveryStatus, Subscription
from webhooks.services import deliver

from .conftest import SECRET

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:4700::1111"


def body(url: str) -> dict[str, Any]:
    return {"url": url, "secret": SECRET, "events": ["RWG-003"]}


@pytest.fixture
def guarded(settings):
    """The production default: public addresses only (plain http allowed, to test one thing)."""
    settings.WEDGE_WEBHOOK_ALLOW_PRIVATE = False
    settings.WEDGE_WEBHOOK_ALLOW_HTTP = True
    return settings


@pytest.fixture
def dns(monkeypatch):
    """Names the resolver answers with given addresses: one list per lookup, the last repeated.

    Everything else (IP literals, the database, Redis) goes to the real resolver.
    Returns the number of lookups of each faked name.
    """
    answers: dict[str, list[list[str]]] = {}
    lookups: Counter[str] = Counter()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        sequence = answers[host]
        addresses = sequence[min(lookups[host], len(sequence) - 1)]
        lookups[host] += 1
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port), 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, int(port)))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    def answer(name: str, *sequence: list[str]) -> Counter[str]:
        answers[name] = list(sequence)
        return lookups

    return answer


@dataclass
class Seen:
    url: str = ""
    port: int = 0
    hosts: list[str] = field(default_factory=list)


@contextmanager
def receiver() -> Iterator[Seen]:
    """A loopback receiver that answers 204 and notes each request's Host header."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    seen.port = server.server_address[1]
    seen.url = f"http://127.0.0.1:{seen.port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        server.shutdown()
        server.server_close()


# --- At registration ---------------------------------------------------------------------

REFUSED = {
    "cloud metadata (link-local)": "http://169.254.169.254/latest/meta-data/",
    "loopback IPv6, a database port": "http://[::1]:5432/",
    "loopback IPv4": "http://127.0.0.1:9/hook",
    "loopback, elsewhere in 127/8": "http://127.8.9.10/hook",
    "localhost": "http://localhost:8000/hook",
    "private 10/8": "http://10.0.0.5/hook",
    "private 172.16/12": "http://172.16.3.4/hook",
    "private 192.168/16": "http://192.168.1.1/hook",
    "CGNAT 100.64/10": "http://100.64.0.1/hook",
    "unspecified IPv4": "http://0.0.0.0:8000/hook",
    "unspecified IPv6": "http://[::]/hook",
    "reserved 240/4": "http://240.0.0.1/hook",
    "broadcast": "http://255.255.255.255/hook",
    "documentation 192.0.2/24": "http://192.0.2.1/hook",
    "benchmarking 198.18/15": "http://198.18.0.1/hook",
    "multicast IPv4": "http://224.0.0.1/hook",
    "multicast IPv4, organisation-local": "http://239.1.2.3/hook",
    "multicast IPv6": "http://[ff0e::1]/hook",
    "link-local IPv6": "http://[fe80::1]/hook",
    "unique local IPv6": "http://[fd00::1]/hook",
    "IPv4-mapped loopback": "http://[::ffff:127.0.0.1]/hook",
    "IPv4-mapped metadata": "http://[::ffff:169.254.169.254]/hook",
    "IPv4-compatible loopback": "http://[::127.0.0.1]/hook",
    "6to4 of loopback": "http://[2002:7f00:1::]/hook",
    "NAT64 of metadata": "http://[64:ff9b::a9fe:a9fe]/hook",
    "NAT64 local-use prefix": "http://[64:ff9b:1::808:808]/hook",
    "Teredo": "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
}


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED.values(), ids=REFUSED.keys())
def test_each_refused_class_of_address_is_a_400_on_url(guarded, token_client, url):
    answer = token_client("dave").post("/api/v1/webhooks/", body(url), format="json")
    assert answer.status_code == 400, answer.content
    (error,) = answer.json()["errors"]
    assert error["field"] == "url"
    assert error["code"] == "destination_not_allowed"
    assert not Subscription.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], [PUBLIC_V4, "127.0.0.1"], [PUBLIC_V6, "fd12::1"], ["169.254.169.254"]],
    ids=["private", "public and loopback", "public and unique local", "metadata"],
)
def test_a_name_is_refused_if_any_address_it_resolves_to_is_not_public(
    guarded, token_client, dns, addresses
):
    dns("hooks.internal.test", addresses)
    answer = token_client("dave").post(
        "/api/v1/webhooks/", body("http://hooks.internal.test/hook"), format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["code"] == "destination_not_allowed"
    assert answer.json()["errors"][0]["field"] == "url"


@pytest.mark.django_db
def test_a_name_that_does_not_resolve_is_refused(guarded, token_client, dns):
    dns("nowhere.test", [])
    answer = token_client("dave").post(
        "/api/v1/webhooks/", body("https://nowhere.test/hook"), format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0] == {
        "field": "url",
        "code": "unresolvable_host",
        "message": answer.json()["errors"][0]["message"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        f"https://{PUBLIC_V4}/hook",
        f"https://[{PUBLIC_V6}]:8443/hook",
        "https://[::ffff:93.184.215.14]/hook",
        "https://deployer.example.test/hooks/wedge",
    ],
)
def test_public_destinations_are_accepted(guarded, token_client, dns, url):
    dns("deployer.example.test", [PUBLIC_V4, PUBLIC_V6])
    answer = token_client("dave").post("/api/v1/webhooks/", body(url), format="json")
    assert answer.status_code == 201, answer.content


@pytest.mark.django_db
def test_plain_http_is_refused_unless_allowed(guarded, token_client):
    guarded.WEDGE_WEBHOOK_ALLOW_HTTP = False
    answer = token_client("dave").post(
        "/api/v1/webhooks/", body(f"http://{PUBLIC_V4}/hook"), format="json"
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["errors"][0]["field"] == "url"
    assert answer.json()["errors"][0]["code"] == "https_required"
    assert (
        token_client("dave")
        .post("/api/v1/webhooks/", body(f"https://{PUBLIC_V4}/hook"), format="json")
        .status_code
        == 201
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        f"ftp://{PUBLIC_V4}/hook",
        f"ftps://{PUBLIC_V4}/hook",
        "file:///etc/passwd",
        f"gopher://{PUBLIC_V4}:70/_",
        "javascript:alert(1)",
    ],
)
@pytest.mark.parametrize("private", [False, True], ids=["guarded", "private allowed"])
def test_schemes_other_than_http_and_https_are_refused_whatever_is_allowed(
    settings, token_client, url, private
):
    settings.WEDGE_WEBHOOK_ALLOW_PRIVATE = private
    settings.WEDGE_WEBHOOK_ALLOW_HTTP = True
    answer = token_client("dave").post("/api/v1/webhooks/", body(url), format="json")
    assert answer.status_code == 400, answer.content
    (error,) = answer.json()["errors"]
    assert error["field"] == "url"
    # The service's refusal, or for what is no URL at all the URL field's own.
    assert error["code"] in ("invalid_url", "invalid")
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_allowing_private_targets_lets_loopback_through(settings, token_client):
    settings.WEDGE_WEBHOOK_ALLOW_PRIVATE = True
    settings.WEDGE_WEBHOOK_ALLOW_HTTP = True
    answer = token_client("dave").post(
        "/api/v1/webhooks/", body("http://[::1]:5432/"), format="json"
    )
    assert answer.status_code == 201, answer.content


@pytest.mark.django_db
def test_the_admin_form_refuses_what_the_api_refuses(guarded, admin_client):
    answer = admin_client.post(
        "/admin/webhooks/subscription/add/",
        {"url": "http://169.254.169.254/latest/", "secret": SECRET, "events": '["RWG-003"]'},
    )
    assert answer.status_code == 200  # the form again, with its error
    assert "public addresses" in answer.content.decode()
    assert not Subscription.objects.exists()


def run_settings(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_", "SECRET_", "DEBUG", "WEDGE_"))
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("debug", "http"), [("0", "False"), ("1", "True")])
def test_by_default_loopback_is_refused_and_http_only_in_debug(tmp_path, debug, http):
    script = (
        "from django.conf import settings\n"
        "from webhooks import destinations\n"
        "print(settings.WEDGE_WEBHOOK_ALLOW_PRIVATE, settings.WEDGE_WEBHOOK_ALLOW_HTTP)\n"
        "try:\n"
        "    destinations.check_registration('https://127.0.0.1:8443/hook')\n"
        "except destinations.DestinationRefused as refused:\n"
        "    print(refused.code)\n"
    )
    result = run_settings(
        script, DEBUG=debug, SECRET_KEY="k" * 50, WEDGE_VAR_DIR=str(tmp_path), ALLOWED_HOSTS="x"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["False", http, "destination_not_allowed"]


@given(host=st.text(max_size=40), tail=st.sampled_from(["", "/", ":443/", ":99999/", "/%00"]))
@settings_profile(max_examples=200, deadline=None)
def test_any_url_is_checked_or_refused_never_an_error(host, tail):
    def numeric_only(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["flags"] = socket.AI_NUMERICHOST  # names fail without asking DNS
        return real_getaddrinfo(host, port, **kwargs)

    real_getaddrinfo = socket.getaddrinfo
    with (
        mock.patch.object(socket, "getaddrinfo", numeric_only),
        override_settings(WEDGE_WEBHOOK_ALLOW_PRIVATE=False, WEDGE_WEBHOOK_ALLOW_HTTP=False),
    ):
        for url in (f"https://{host}{tail}", f"http://{host}{tail}"):
            try:
                destinations.check_registration(url)
                addresses = destinations.resolve(url).addresses
                outcome = "allowed"
            except destinations.DestinationRefused as refused:
                addresses, outcome = (), refused.code
            assert outcome in {
                "allowed",
                "destination_not_allowed",
                "https_required",
                "unresolvable_host",
            }
            assert all(destinations.is_public(ipaddress.ip_address(a)) for a in addresses)


# --- At delivery ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dns_rebind_to_loopback_is_not_posted_to(guarded, dns, subscribe, outbox_row):
    with receiver() as seen:
        lookups = dns("rebind.test", [PUBLIC_V4], ["127.0.0.1"])
        subscription = subscribe(f"http://rebind.test:{seen.port}/hook")
        assert lookups["rebind.test"] == 1  # checked, public, at registration
        delivery = outbox_row(subscription)
        result = deliver(str(delivery.pk))
    assert seen.hosts == []
    assert result is not None
    assert result.status == DeliveryStatus.PENDING  # a failed attempt, retried later
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_error == "destination not allowed"
    assert delivery.last_status_code is None
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1


@pytest.mark.django_db
def test_a_rebind_after_the_check_does_not_move_the_connection(
    guarded, dns, subscribe, outbox_row, monkeypatch
):
    """The name answers public twice (registration, the attempt's check), then loopback."""
    connected: list[tuple[str, int]] = []

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        connected.append(address)
        raise ConnectionRefusedError(errno.ECONNREFUSED, "refused (no public network here)")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    with receiver() as seen:
        lookups = dns("late-rebind.test", [PUBLIC_V4], [PUBLIC_V4], ["127.0.0.1"])
        subscription = subscribe(f"http://late-rebind.test:{seen.port}/hook")
        delivery = outbox_row(subscription)
        deliver(str(delivery.pk))
    assert connected == [(PUBLIC_V4, seen.port)]
    assert lookups["late-rebind.test"] == 2
    assert seen.hosts == []
    delivery.refresh_from_db()
    assert delivery.last_error == "connection refused"


@pytest.mark.django_db
def test_a_subscription_to_loopback_from_before_is_not_posted_to(settings, subscribe, outbox_row):
    with receiver() as seen:
        subscription = subscribe(seen.url)  # while private targets were allowed
        settings.WEDGE_WEBHOOK_ALLOW_PRIVATE = False
        delivery = outbox_row(subscription)
        deliver(str(delivery.pk))
    assert seen.hosts == []
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_error) == (1, "destination not allowed")


@pytest.mark.django_db
def test_an_http_subscription_is_not_posted_to_once_http_is_turned_off(
    settings, subscribe, outbox_row
):
    with receiver() as seen:
        subscription = subscribe(seen.url)
        settings.WEDGE_WEBHOOK_ALLOW_HTTP = False
        delivery = outbox_row(subscription)
        deliver(str(delivery.pk))
    assert seen.hosts == []
    delivery.refresh_from_db()
    assert delivery.last_error == "https required"


@pytest.mark.django_db
def test_an_attempt_connects_to_the_address_it_checked(dns, subscribe, outbox_row):
    """Resolved once: a second lookup (which would answer elsewhere) never happens."""
    with receiver() as seen:
        lookups = dns("pinned.test", ["127.0.0.1"], ["192.0.2.1"])
        subscription = subscribe(f"http://pinned.test:{seen.port}/hook")
        assert lookups["pinned.test"] == 0  # private targets allowed: nothing to check
        delivery = outbox_row(subscription)
        result = deliver(str(delivery.pk))
    assert result is not None
    assert result.status == DeliveryStatus.DELIVERED
    assert lookups["pinned.test"] == 1
    assert seen.hosts == [f"pinned.test:{seen.port}"]  # the name, not the address


@pytest.mark.django_db
def test_an_attempt_moves_on_to_the_next_address_when_one_refuses(dns, subscribe, outbox_row):
    with receiver() as seen:
        # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1): refused at once.
        dns("two.test", ["127.0.0.2", "127.0.0.1"])
        subscription = subscribe(f"http://two.test:{seen.port}/hook")
        delivery = outbox_row(subscription)
        result = deliver(str(delivery.pk))
    assert result is not None
    assert result.status == DeliveryStatus.DELIVERED
    assert len(seen.hosts) == 1


@pytest.mark.django_db
def test_a_name_that_no_longer_resolves_is_a_failed_attempt(dns, subscribe, outbox_row):
    dns("gone.test", [])
    subscription = subscribe("https://gone.test/hook")
    delivery = outbox_row(subscription)
    deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_error) == (1, "host not found")
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.PENDING
