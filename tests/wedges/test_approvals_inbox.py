"""The approvals inbox: manual wedges with an eligible stage that the user may approve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from org import access
from org.models import Section, Subsystem
from wedges.services import wedge_record_snapshot, wedge_start

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
URL = "/proposals/approvals/"


@pytest.fixture
def security_subsystem(demo) -> Subsystem:
    return Subsystem.objects.create(
        slug="secrets-broker", name="Secrets broker", section=Section.objects.get(slug="security")
    )


@pytest.fixture
def awaiting(submit, demo):
    """Store and start a manual wedge whose first stage is eligible an hour after T0."""

    def make(subsystem: str = "connector-runtime"):
        proposal = submit(
            "alice", subsystem=subsystem, rollout_wedge={"increment_policy": "manual"}
        )
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
        wedge_record_snapshot(
            proposal_id=proposal.pk,
            metrics=HEALTHY,
            actor=demo["alice"],
            now=T0 + timedelta(hours=1),
        )
        return proposal

    return make


def listed(client, demo, username: str) -> set[int]:
    client.force_login(demo[username])
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        response = client.get(URL)
    assert response.status_code == 200
    return {status.wedge.proposal_id for status in response.context["statuses"]}


@pytest.mark.parametrize(
    ("username", "sections"),
    [
        ("dave", {"platform", "security"}),  # operators: everywhere
        ("admin", {"platform", "security"}),
        ("bob", {"platform"}),  # section leads: their own sections
        ("frank", {"security"}),
        ("carol", set()),
        ("erin", set()),
        ("alice", set()),
    ],
)
def test_the_inbox_lists_what_the_user_may_approve(
    client, demo, awaiting, security_subsystem, username, sections
):
    by_section = {"platform": awaiting().pk, "security": awaiting(security_subsystem.slug).pk}
    assert listed(client, demo, username) == {by_section[s] for s in sections}


def test_the_inbox_reads_in_a_fixed_number_of_queries(client, demo, awaiting):
    awaiting()
    client.force_login(demo["bob"])
    later = time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False)
    with later, CaptureQueriesContext(connection) as few:
        client.get(URL)
    awaiting()
    awaiting()
    with later, CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).context["statuses"]) == 3
    assert len(many) == len(few)


@pytest.mark.parametrize("username", ["dave", "admin", "bob", "frank", "carol", "erin", "alice"])
def test_operated_by_is_can_operate_as_a_filter(demo, security_subsystem, username):
    user = demo[username]
    for subsystem in Subsystem.objects.select_related("section"):
        filtered = Subsystem.objects.filter(access.operated_by(user), pk=subsystem.pk).exists()
        assert filtered == access.can_operate(user, subsystem), subsystem.slug
