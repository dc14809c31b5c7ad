"""The Prometheus kind against a real Prometheus (and a stub for what it will not do on cue)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import pytest
import requests

from harness.processes import free_port
from harness.prometheus import Exporter, Prometheus
from providers.config import ProviderConfig
from providers.kinds import QueryFailed, Reading, build
from tests.providers.stub import stub_backend


def client(url: str, **settings: object) -> object:
    config = ProviderConfig(name="prometheus", kind="prometheus", base_url=url, **settings)  # type: ignore[arg-type]
    session = requests.Session()
    session.trust_env = False
    return build(config, session)


def ask(url: str, text: str, **settings: object) -> Reading:
    return client(url, **settings).query(text, datetime.now(UTC))  # type: ignore[attr-defined]


def failure(url: str, text: str, **settings: object) -> QueryFailed:
    with pytest.raises(QueryFailed) as caught:
        ask(url, text, **settings)
    return caught.value


@pytest.fixture(scope="module")
def cases(exporter: Exporter, prometheus: Prometheus) -> Prometheus:
    """Gauges with the values a rate cannot produce, scraped before the module's tests."""
    exporter.gauge.labels(case="nan").set(math.nan)
    exporter.gauge.labels(case="inf").set(math.inf)
    exporter.gauge.labels(case="minus-inf").set(-math.inf)
    exporter.gauge.labels(case="one").set(0.25)
    exporter.gauge.labels(case="two-a").set(1)
    exporter.gauge.labels(case="two-b").set(2)
    prometheus.wait_for(
        'count(app_test_value{case=~"nan|inf|minus-inf|one|two-.*"})', lambda v: v == 6
    )
    return prometheus


def test_a_one_element_vector_is_the_value(cases: Prometheus) -> None:
    assert ask(cases.url, 'app_test_value{case="one"}') == Reading(0.25)


def test_a_scalar_is_the_value(cases: Prometheus) -> None:
    assert ask(cases.url, "scalar(vector(180))") == Reading(180.0)


def test_a_real_rate_is_read(cases: Prometheus) -> None:
    reading = ask(cases.url, 'sum(rate(app_requests_total{code="200"}[5s]))')
    assert reading.value is not None
    assert reading.value > 0


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ('app_test_value{case="absent"}', "empty result"),
        ('sum(rate(app_requests_total{code="404"}[5s]))', "empty result"),
        ('app_test_value{case="nan"}', "NaN"),
        ('app_test_value{case="inf"}', "+Inf"),
        ('app_test_value{case="minus-inf"}', "-Inf"),
    ],
    ids=["empty vector", "empty rate", "NaN", "+Inf", "-Inf"],
)
def test_no_data_is_a_missing_value(cases: Prometheus, text: str, note: str) -> None:
    assert ask(cases.url, text) == Reading(None, note)


def test_more_than_one_series_is_an_error(cases: Prometheus) -> None:
    error = failure(cases.url, 'app_test_value{case=~"two-.*"}')
    assert error.code == QueryFailed.MULTIPLE_SERIES
    assert "2 series" in error.message


def test_a_range_vector_is_an_error(cases: Prometheus) -> None:
    error = failure(cases.url, 'app_test_value{case="one"}[5s]')
    assert error.code == QueryFailed.BAD_RESPONSE
    assert "range vector" in error.message


def test_bad_promql_carries_prometheus_own_message(cases: Prometheus) -> None:
    error = failure(cases.url, "sum(rate(app_requests_total[5s])")
    assert error.code == QueryFailed.QUERY
    assert "HTTP 400, bad_data" in error.message
    assert "parse error" in error.message


def test_an_unreachable_prometheus_is_a_connection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    error = failure(url, "up")
    assert error.code == QueryFailed.CONNECTION
    assert "connection refused" in error.message
    assert url in error.message


def test_a_slow_prometheus_times_out_after_its_timeout() -> None:
    with stub_backend(sleep_seconds=3) as stub:
        began = time.monotonic()
        error = failure(stub.url, "up", timeout_seconds=0.5)
        elapsed = time.monotonic() - began
    assert error.code == QueryFailed.TIMEOUT
    assert "0.5 s" in error.message
    assert elapsed < 2


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (503, b"upstream down", QueryFailed.HTTP),
        (200, b"<html>not prometheus</html>", QueryFailed.BAD_RESPONSE),
        (
            200,
            b'{"status":"success","data":{"resultType":"string","result":[0,"x"]}}',
            QueryFailed.BAD_RESPONSE,
        ),
        (
            422,
            b'{"status":"error","errorType":"execution","error":"too many samples"}',
            QueryFailed.QUERY,
        ),
        (
            200,
            b'{"status":"success","data":{"resultType":"scalar","result":[0,"abc"]}}',
            QueryFailed.BAD_RESPONSE,
        ),
    ],
    ids=["503", "html", "string result", "422 execution", "not a number"],
)
def test_what_is_not_an_answer_is_a_failure(status: int, body: bytes, code: str) -> None:
    with stub_backend(status=status, body=body) as stub:
        assert failure(stub.url, "up").code == code


def test_a_redirect_is_not_followed() -> None:
    with stub_backend(
        status=302, body=b"", headers={"Location": "http://example.invalid/"}
    ) as stub:
        error = failure(stub.url, "up")
    assert (error.code, error.message) == (QueryFailed.HTTP, f"HTTP 302 from {stub.url}")
    assert len(stub.requests) == 1


def test_the_query_is_sent_as_an_instant_query_at_now_with_credentials() -> None:
    with stub_backend() as stub:
        at = datetime(2026, 11, 28, 10, 0, 0, 500_000, tzinfo=UTC)
        client(
            stub.url + "/prom/", auth_type="bearer", bearer_token="s3cret", timeout_seconds=2
        ).query(  # type: ignore[attr-defined]
            'up{job="a"}', at
        )
    (request,) = stub.requests
    assert request["path"] == "/prom/api/v1/query"
    assert request["params"] == {
        "query": 'up{job="a"}',
        "time": f"{at.timestamp():.3f}",
        "timeout": "2s",
    }
    assert request["headers"]["Authorization"] == "Bearer s3cret"  # type: ignore[index]


def test_basic_auth_is_sent() -> None:
    with stub_backend() as stub:
        ask(stub.url, "up", auth_type="basic", username="wedge", password="pw")
    assert stub.requests[0]["headers"]["Authorization"] == "Basic d2VkZ2U6cHc="  # type: ignore[index]


def test_a_config_never_shows_its_credentials() -> None:
    config = ProviderConfig(
        name="p", kind="prometheus", base_url="http://p", auth_type="bearer", bearer_token="s3cret"
    )
    assert "s3cret" not in repr(config)
