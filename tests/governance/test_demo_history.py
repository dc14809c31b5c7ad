"""The demo tells a story: a year of history through the real services, in order.

Every demo proposal's trail starts with its submission (nothing is shown
before the submission it follows), the governance report of each of the last
four quarters has figures, a waived change caused an incident, one change
freeze lies in the past and none holds anything now.
"""

import pytest
from django.utils import timezone

from audit.codes import EventCode
from audit.models import AuditEvent
from freezes.models import ChangeFreeze, in_force
from governance.demo import HISTORY_REFERENCE, seed_demo_history
from governance.models import Incident
from governance.report import Quarter, governance_report
from org.demo import seed_demo
from waivers.demo import seed_demo_waivers
from wedges.demo import DEMO_REFERENCE, seed_demo_rollouts
from wedges.models import ChangeProposal, RolloutWedge

pytestmark = pytest.mark.django_db


@pytest.fixture
def story():
    seed_demo()
    created = seed_demo_history()
    seed_demo_rollouts()
    seed_demo_waivers()
    return created


def demo_proposals():
    return ChangeProposal.objects.filter(
        external_reference__startswith=DEMO_REFERENCE
    ) | ChangeProposal.objects.filter(external_reference__startswith=HISTORY_REFERENCE)


def test_no_demo_event_comes_before_the_submission_it_follows(story):
    proposals = list(demo_proposals())
    assert len(proposals) > 20
    for proposal in proposals:
        events = list(
            AuditEvent.objects.filter(proposal_id=proposal.pk).order_by("occurred_at", "id")
        )
        submitted = [event for event in events if event.code == EventCode.PROPOSAL_SUBMITTED]
        assert len(submitted) == 1, proposal
        assert submitted[0].occurred_at >= proposal.created_at
        early = [e for e in events if e.occurred_at < proposal.created_at]
        assert early == [], (proposal.title, [(e.code, e.occurred_at) for e in early])
        assert events[0].code == EventCode.PROPOSAL_SUBMITTED, proposal.title


def test_every_one_of_the_last_four_quarters_has_believable_figures(story):
    quarter = Quarter.containing(timezone.now())
    for _ in range(4):
        assert quarter is not None
        report = governance_report(quarter)
        assert report.proposals_submitted >= 4, quarter
        assert report.wedges_completed >= 2, quarter
        assert report.automatic_rollbacks >= 1, quarter
        assert report.incidents, quarter
        assert report.incidents_contained >= 1, quarter
        # Each rollback's deployer learnt of it within the policy's 60 s.
        assert report.slo_counts["within"] == report.wedges_rolled_back, quarter
        quarter = quarter.previous


def test_a_waived_change_caused_an_incident(story):
    waived = Incident.objects.filter(
        proposal__external_reference__startswith=HISTORY_REFERENCE,
        proposal__waiver_coverage__isnull=False,
    )
    assert waived.count() == 1
    assert waived.get().proposal.rollout_wedge.wedge_state == "COMPLETE"


def test_one_freeze_in_the_past_and_none_in_force(story):
    now = timezone.now()
    freeze = ChangeFreeze.objects.get()
    assert freeze.until < now
    assert not ChangeFreeze.objects.filter(in_force(now)).exists()
    report = governance_report(Quarter.containing(freeze.starts_at))
    (summary,) = report.freezes
    assert summary.freeze == freeze
    # The waived hotfix went through the freeze; its start names it.
    (through,) = summary.waived_through
    assert ChangeProposal.objects.get(pk=through).waiver_coverage is not None
    started = AuditEvent.objects.get(proposal_id=through, code=EventCode.WEDGE_STARTED)
    assert started.data["freeze"] == freeze.pk


def test_the_history_is_seeded_once(story):
    assert story
    wedges = RolloutWedge.objects.count()
    events = AuditEvent.objects.count()
    assert seed_demo_history() == []
    assert (RolloutWedge.objects.count(), AuditEvent.objects.count()) == (wedges, events)
    # Nothing of the history is running: the live demo is what moves.
    running = RolloutWedge.objects.filter(
        proposal__external_reference__startswith=HISTORY_REFERENCE,
        wedge_state__in=["ACTIVE", "PAUSED", "PENDING"],
    )
    assert not running.exists()
