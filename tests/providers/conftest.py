"""A session's real Prometheus scraping the test exporter, and wedges that query it."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness.prometheus import Exporter, Prometheus, scrape_job
from org.models import User
from providers.models import MetricProvider
from tests.documents import PROPOSAL
from wedges.models import ChangeProposal
from wedges.services import proposal_submit, wedge_start
from wedges.submission import check_submission

# The error ratio of the exporter's requests over the last 5 s.
ERROR_RATIO = (
    'sum(rate(app_requests_total{code="500", job="app"}[5s]))'
    ' / sum(rate(app_requests_total{job="app"}[5s]))'
)


@pytest.fixture(scope="session")
def exporter() -> Iterator[Exporter]:
    service = Exporter.start()
    service.set_traffic(ok_per_second=100, errors_per_second=0)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def prometheus(
    exporter: Exporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    directory = tmp_path_factory.mktemp("prometheus")
    with Prometheus.running(directory, [scrape_job("app", exporter.address)]) as server:
        server.wait_for_target("app")
        yield server


@pytest.fixture
def provider(db: None, prometheus: Prometheus) -> MetricProvider:
    return MetricProvider.objects.create(name="prometheus", base_url=prometheus.url)


@pytest.fixture
def running_with_queries(demo: dict[str, User]) -> Callable[..., ChangeProposal]:
    """Submit and start a proposal whose wedge has the given metric queries."""

    def make(queries: dict[str, Any], author: str = "alice", **wedge: Any) -> ChangeProposal:
        body = copy.deepcopy(PROPOSAL)
        body["rollout_wedge"].update(wedge, metric_queries=queries)
        check = check_submission(body)
        assert check.valid, check.to_dict()
        proposal = proposal_submit(check=check, author=demo[author]).proposal
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"], reason="test")
        return proposal

    return make
