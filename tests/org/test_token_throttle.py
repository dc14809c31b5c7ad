"""Guessing tokens: after a few failures a minute, an address gets 429s."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from rest_framework.test import APIClient

from org.tokens import api_token_for

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LIMIT = 3
KEYS = [f"wedge:throttle:failed_token:{address}" for address in ("127.0.0.1", "10.9.8.7")]


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.WEDGE_API_TOKEN_FAILURES_PER_MINUTE = LIMIT
    cache.delete_many(KEYS)
    yield
    cache.delete_many(KEYS)


def call(key: str, address: str = "127.0.0.1"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/v1/proposals/")


def test_failing_tokens_get_429_after_the_limit_until_the_minute_is_over(demo):
    good = api_token_for(user=demo["alice"])
    with time_machine.travel(NOW, tick=False):
        assert [call(f"guess-{n}").status_code for n in range(LIMIT)] == [401] * LIMIT
        refused = call("guess-again")
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["code"] == "throttled"
        assert "Too many failed token attempts" in refused.json()["errors"][0]["message"]
        assert refused["Retry-After"] == "60"
        # While the address is over the limit no key is looked up, so a guess
        # that happened to be right could not be told from a wrong one.
        assert call(good).status_code == 429
        # Another address is not affected.
        assert call("guess", address="10.9.8.7").status_code == 401
    with time_machine.travel(NOW + dt.timedelta(seconds=59), tick=False):
        assert call(good).status_code == 429
    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        assert call(good).status_code == 200


def test_successes_do_not_count(demo):
    good = api_token_for(user=demo["alice"])
    with time_machine.travel(NOW, tick=False):
        for _ in range(LIMIT * 3):
            assert call(good).status_code == 200
        assert call("guess").status_code == 401


def test_behind_a_proxy_the_forwarded_address_counts(demo, settings):
    settings.WEDGE_TRUSTED_PROXIES = 1
    client = APIClient(REMOTE_ADDR="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION="Token guess")
    with time_machine.travel(NOW, tick=False):
        for _ in range(LIMIT):
            client.get("/api/v1/proposals/", HTTP_X_FORWARDED_FOR="spoofed, 10.9.8.7")
        assert call("guess").status_code == 401  # the proxy's own address is not blocked
        assert client.get("/api/v1/proposals/", HTTP_X_FORWARDED_FOR="10.9.8.7").status_code == 429
