"""The proposal page shows the metric queries Wedge reads, their last values and errors."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from providers.kinds import QueryFailed, Reading
from providers.models import MetricProvider
from providers.polling import Answer, load_jobs
from providers.services import record_poll
from tests.providers.conftest import running_with_queries  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
QUERY = 'sum(rate(http_errors_total{proposal="{{proposal_id}}"}[1m]))'


@pytest.fixture
def polled(running_with_queries):  # noqa: F811 (the fixture above)
    MetricProvider.objects.create(name="prometheus", base_url="http://prometheus:9090")
    proposal = running_with_queries(
        {
            "error_rate": {"provider": "prometheus", "query": QUERY},
            "p99": {"provider": "prometheus", "query": "histogram_quantile(0.99, x) * 1e3"},
        }
    )
    (job,) = load_jobs([proposal.rollout_wedge.pk], now=timezone.now())
    record_poll(
        job,
        [
            Answer("error_rate", "prometheus", QUERY, reading=Reading(0.0042)),
            Answer(
                "p99",
                "prometheus",
                "histogram_quantile(0.99, x) * 1e3",
                error=QueryFailed("timeout", "Prometheus did not answer within 5 s"),
            ),
        ],
        now=timezone.now(),
    )
    return proposal


def test_the_queries_their_values_and_errors_in_words_at_both_widths(
    page: Page, live_server, sign_in, polled
):
    sign_in(page, "alice")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/proposals/{polled.pk}/")
        panel = page.locator("#metric-queries")
        expect(panel.get_by_role("heading", name="Metric queries")).to_be_visible()
        expect(panel.get_by_test_id("value-error_rate")).to_have_text("0.0042")
        error = panel.get_by_test_id("error-p99")
        expect(error).to_contain_text("Prometheus did not answer within 5 s")
        expect(error).to_contain_text("UTC); 1 failure in a row")
        expect(error).not_to_contain_text("timeout")  # the message, not the code
        panel.scroll_into_view_if_needed()
        panel.screenshot(path=f"test-results/proposal-queries-{width}.png")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths
