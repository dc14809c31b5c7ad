"""The proposal page's metric queries panel and the dashboard's mark for failing metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from providers.kinds import QueryFailed, Reading
from providers.models import MetricProvider, PolledWedge
from providers.polling import Answer, load_jobs
from providers.services import record_poll

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
QUERY = 'sum(rate(http_errors_total{proposal="{{proposal_id}}"}[1m]))'


@pytest.fixture
def polled(running_with_queries):
    MetricProvider.objects.create(name="prometheus", base_url="http://prometheus:9090")

    def make(author="alice"):
        return running_with_queries(
            {
                "error_rate": {"provider": "prometheus", "query": QUERY},
                "p99": {"provider": "prometheus", "query": "histogram_quantile(0.99, x) * 1e3"},
            },
            author=author,
        )

    return make


def answer(proposal, *answers):
    (job,) = load_jobs([proposal.rollout_wedge.pk], now=T0)
    record_poll(job, list(answers), now=T0)


def test_the_panel_shows_each_query_its_last_value_and_its_last_error(client, demo, polled):
    proposal = polled()
    sent = QUERY.replace("{{proposal_id}}", str(proposal.pk))
    answer(
        proposal,
        Answer("error_rate", "prometheus", sent, reading=Reading(0.0042)),
        Answer(
            "p99",
            "prometheus",
            "histogram_quantile(0.99, x) * 1e3",
            error=QueryFailed("query_error", "Prometheus refused the query (HTTP 400, bad_data)"),
        ),
    )
    client.force_login(demo["alice"])
    page = client.get(f"/proposals/{proposal.pk}/").content.decode()
    assert 'id="metric-queries"' in page
    assert "sum(rate(http_errors_total{proposal=&quot;{{proposal_id}}&quot;}[1m]))" in page
    assert f"proposal=&quot;{proposal.pk}&quot;" in page  # the query as sent
    assert "<strong>0.0042</strong>" in page
    assert "Prometheus refused the query (HTTP 400, bad_data)" in page
    assert "1 failure in a row" in page
    assert "failing since" in page


def test_no_data_is_shown_as_such(client, demo, polled):
    proposal = polled()
    answer(
        proposal,
        Answer("error_rate", "prometheus", "x", reading=Reading(None, "empty result")),
        Answer("p99", "prometheus", "y", reading=Reading(150.0)),
    )
    client.force_login(demo["alice"])
    fragment = client.get(f"/metrics/proposals/{proposal.pk}/queries/").content.decode()
    assert "<em>no data</em> <small>(empty result)</small>" in fragment
    assert "failing since" not in fragment


def test_a_proposal_without_queries_has_no_panel(client, demo, submit):
    proposal = submit("alice")
    client.force_login(demo["alice"])
    assert 'id="metric-queries"' not in client.get(f"/proposals/{proposal.pk}/").content.decode()


def test_the_panel_is_read_as_far_as_the_proposal_is(client, demo, polled):
    proposal = polled(author="alice")
    client.force_login(demo["pipeline"])  # an engineer who did not author it
    assert client.get(f"/metrics/proposals/{proposal.pk}/queries/").status_code == 404
    client.force_login(demo["erin"])  # the auditor reads everything
    assert client.get(f"/metrics/proposals/{proposal.pk}/queries/").status_code == 200
    client.logout()
    assert client.get(f"/metrics/proposals/{proposal.pk}/queries/").status_code == 302


def test_the_dashboard_marks_wedges_whose_metrics_fail(client, demo, polled):
    failing, healthy = polled(), polled()
    answer(failing, Answer("error_rate", "prometheus", "x", error=QueryFailed("timeout", "t")))
    answer(healthy, Answer("error_rate", "prometheus", "x", reading=Reading(0.0)))
    client.force_login(demo["dave"])
    page = client.get("/").content.decode()
    rows = {int(chunk.split('"', 1)[0]): chunk for chunk in page.split('<tr data-proposal="')[1:]}
    assert "Metrics failing" in rows[failing.pk]
    assert "Metrics failing" not in rows[healthy.pk]


def test_the_mark_costs_one_query_whatever_the_rows(client, demo, polled):
    for _ in range(3):
        polled()
    client.force_login(demo["dave"])
    client.get("/")
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for _ in range(3):
        polled()
    with CaptureQueriesContext(connection) as more:
        client.get("/")
    assert len(more) == len(few)
    assert sum("providers_polledwedge" in q["sql"] for q in more) == 1


def test_the_api_shows_failing_wedges_per_provider(token_client, polled):
    proposal = polled()
    answer(proposal, Answer("error_rate", "prometheus", "x", error=QueryFailed("timeout", "t")))
    body = token_client("dave").get("/api/v1/metric-providers/prometheus/").json()
    assert body["failing_wedges"] == 1
    assert PolledWedge.objects.get().failing_providers == ["prometheus"]
