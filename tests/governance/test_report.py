"""The report's figures on the known quarter of ``conftest.quarter4``."""

from datetime import timedelta

import pytest
from django.db import transaction

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import record_event
from governance.report import Quarter, governance_report, percentile
from tests.governance.conftest import Q1_START, utc

pytestmark = pytest.mark.django_db


def ids(objects):
    return [obj.pk for obj in objects]


def test_proposals_and_wedge_outcomes(quarter4):
    report = governance_report("2026Q4")
    assert report.quarter == Quarter(2026, 4)
    # P6 (at Q4's first instant), P1, P2, P3, P7, P4 — not P5, one second earlier.
    assert report.proposals_submitted == 6
    assert report.proposals_by_change_type == {
        "connector_deployment": 5,
        "control_plane": 0,
        "policy_update": 0,
        "security_patch": 1,
    }
    # P5 started in Q4's last second: counted here; its rollback belongs to Q1.
    assert report.wedges_started == 6
    assert report.wedges_completed == 1
    assert (report.wedges_paused, report.pauses) == (2, 2)
    assert report.wedges_rolled_back == 3
    assert (report.automatic_rollbacks, report.operator_rollbacks) == (2, 1)


def test_rollbacks_timing_and_exposure_at_catch(quarter4):
    p = quarter4.proposals
    report = governance_report("2026Q4")
    rows = [
        (r.proposal_id, r.stage_id, r.exposure_before, r.automatic, r.rule, r.told_seconds)
        for r in report.rollbacks
    ]
    assert rows == [
        (p["P2"].pk, "canary", 10.0, True, "INV-RWG-ROLLBACK", 5.0),
        (p["P3"].pk, "initial", 5.0, False, "operator", 61.0),
        (p["P7"].pk, "initial", 5.0, True, "INV-RWG-ROLLBACK", 60.0),
    ]
    # Evidence to told: nearest rank over [5, 60, 61]; 60 s is within, 61 s is not.
    assert (report.told_p50, report.told_p99) == (60.0, 61.0)
    assert [r.slo(report.generated_at) for r in report.rollbacks] == ["within", "missed", "within"]
    assert report.slo_counts == {"within": 2, "missed": 1, "pending": 0, "not_measured": 0}
    assert report.slo_compliance == pytest.approx(2 / 3)
    # The beat tick caught P7's stored breach 20 s after it arrived.
    assert report.rollbacks[2].decided_seconds == pytest.approx(20.0, abs=5)
    assert report.exposure_at_catch == [10.0, 5.0, 5.0]
    assert [(b.label, b.count) for b in report.exposure_histogram] == [
        ("≤ 5 %", 2),
        ("5-10 %", 1),
        ("10-25 %", 0),
        ("25-50 %", 0),
        ("50-75 %", 0),
        ("75-100 %", 0),
    ]


def test_incidents_by_severity_and_containment(quarter4):
    i = quarter4.incidents
    report = governance_report("2026Q4")
    # Oldest first; I5 (Q1's first instant) is not in Q4.
    assert ids(report.incidents) == [i[k].pk for k in ("I6", "I3", "I1", "I2", "I4")]
    assert report.incidents_by_severity == {"SEV1": 1, "SEV2": 1, "SEV3": 2, "SEV4": 1}
    contained = {incident.pk: incident.contained for incident in report.incidents}
    assert contained == {
        i["I6"].pk: False,  # the wedge never started
        i["I3"].pk: False,  # the wedge completed
        i["I1"].pk: True,  # rolled back at 10 %, 8 % affected
        i["I2"].pk: False,  # 30 % affected: escaped the 10 % the wedge exposed
        i["I4"].pk: True,  # paused at 5 %, exactly 5 % affected
    }
    assert report.incidents_contained == 2
    assert report.contained_share == pytest.approx(0.4)


def test_waivers_and_their_trail(quarter4):
    w = quarter4.waivers
    report = governance_report("2026Q4")
    counts = report.waiver_counts
    # W3 was requested in Q3 and revoked at Q4's first instant.
    assert (counts.requested, counts.granted, counts.expired) == (2, 1, 1)
    assert (counts.rejected, counts.revoked) == (1, 1)
    assert [(e.code, e.waiver_id) for e in report.waiver_trail] == [
        (EventCode.WAIVER_REVOKED, w["W3"].pk),
        (EventCode.WAIVER_REQUESTED, w["W1"].pk),
        (EventCode.WAIVER_APPROVAL_GIVEN, w["W1"].pk),
        (EventCode.WAIVER_APPROVAL_GIVEN, w["W1"].pk),
        (EventCode.WAIVER_APPROVED, w["W1"].pk),
        (EventCode.WAIVER_REQUESTED, w["W2"].pk),
        (EventCode.WAIVER_REJECTED, w["W2"].pk),
        (EventCode.WAIVER_EXPIRED, w["W1"].pk),
    ]
    assert ids(report.waivers) == sorted([w["W1"].pk, w["W2"].pk, w["W3"].pk])


def test_events_at_the_boundaries_land_in_the_right_quarter(quarter4):
    q3 = governance_report("2026Q3")
    assert q3.proposals_submitted == 1  # P5 at 23:59:59
    assert q3.waiver_counts.requested == 1  # W3
    assert q3.waiver_counts.revoked == 0
    assert q3.wedges_started == 0

    q1 = governance_report("2027Q1")
    assert q1.proposals_submitted == 0
    assert q1.wedges_started == 0
    assert [(r.proposal_id, r.exposure_before, r.told_seconds) for r in q1.rollbacks] == [
        (quarter4.proposals["P5"].pk, 5.0, None)
    ]
    # Never told; 60 s have not passed since its evidence (today is before 2027): pending.
    assert q1.slo_counts["pending"] == 1
    assert q1.rollbacks[0].occurred_at == Q1_START
    assert ids(q1.incidents) == [quarter4.incidents["I5"].pk]
    assert q1.incidents_contained == 1  # P3 rolled back at 5 %, 3 % affected


def test_an_empty_quarter(db):
    report = governance_report("2025Q2", now=utc(2026, 1, 1))
    assert report.proposals_submitted == 0
    assert report.rollbacks == ()
    assert (report.told_p50, report.told_p99, report.slo_compliance) == (None, None, None)
    assert report.contained_share is None
    assert [b.count for b in report.exposure_histogram] == [0] * 6
    assert report.generated_at == utc(2026, 1, 1)


def test_recorded_prior_exposure_is_read_off_the_event(quarter4, record_rwg3):
    p1 = quarter4.proposals["P1"]
    record_rwg3(
        proposal_id=p1.pk,
        occurred_at=utc(2026, 12, 20, 12, 0, 3),
        data={"rule": "INV-RWG-BLAST", "exposure_before": 42.5},
    )
    report = governance_report("2026Q4")
    last = report.rollbacks[-1]
    assert (last.exposure_before, last.rule) == (42.5, "INV-RWG-BLAST")


def test_a_rollback_from_before_timings_is_not_measured(quarter4, record_rwg3):
    record_rwg3(proposal_id=quarter4.proposals["P6"].pk, occurred_at=utc(2026, 12, 20), data={})
    report = governance_report("2026Q4")
    assert report.rollbacks[-1].told_seconds is None
    assert report.rollbacks[-1].exposure_before is None
    assert report.slo_counts["not_measured"] == 1
    assert report.slo_compliance == pytest.approx(2 / 3)  # not judged


def test_an_untold_rollback_is_pending_until_60_s_have_passed(quarter4):
    """P5's breach arrived at Q1's first instant and nobody was told."""
    at_edge = governance_report("2027Q1", now=Q1_START + timedelta(seconds=60))
    assert at_edge.slo_counts["pending"] == 1
    assert at_edge.slo_compliance is None
    after = governance_report("2027Q1", now=Q1_START + timedelta(seconds=61))
    assert after.slo_counts["missed"] == 1
    assert after.slo_compliance == 0.0


@pytest.fixture
def record_rwg3(db):
    def make(**kwargs):
        with transaction.atomic():
            return record_event(code=EventCode.ROLLED_BACK, target_percentage=0, **kwargs)

    return make


@pytest.mark.parametrize(
    ("values", "p50", "p99"),
    [
        ([], None, None),
        ([7.0], 7.0, 7.0),
        ([3.0, 1.0, 2.0], 2.0, 3.0),
        ([float(n) for n in range(1, 101)], 50.0, 99.0),
        ([float(n) for n in range(1, 201)], 100.0, 198.0),
    ],
)
def test_nearest_rank_percentiles(values, p50, p99):
    assert (percentile(values, 50), percentile(values, 99)) == (p50, p99)


def test_the_report_reads_in_a_fixed_number_of_queries(quarter4, django_assert_num_queries):
    with django_assert_num_queries(9):
        report = governance_report("2026Q4")
        # Containment and the tables read only what the nine queries loaded (two of
        # them: the policy versions for the policy changes, the quarter's freezes).
        assert report.incidents_contained == 2
        assert [e.actor_label for e in report.waiver_trail]
        assert [w.requester.username for w in report.waivers]
    assert AuditEvent.objects.filter(code=EventCode.INCIDENT_RECORDED).count() == 6
