"""Policy versions: proposed by a section lead, approved by another, in force from their time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.codes import EventCode
from audit.models import AuditEvent
from policies import errors, selectors, services
from policies.models import PolicyVersion, Status
from wedges.policy.thresholds import FLOOR, LOOSENS_POLICY, NO_CHANGE
from wedges.services import wedge_start
from wedges.submission import check_submission

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # the version takes effect at 00:00


def propose(demo, by="bob", **values):
    values = values or {"first_stage_cap": 20}
    return services.policy_version_propose(
        actor=demo[by],
        values=values,
        rationale="Two incidents escaped a 25 % first stage this quarter.",
        effective_at=MIDNIGHT,
        now=NOW,
    )


@pytest.fixture
def version_two(demo):
    version = propose(demo)
    return services.policy_version_approve(version=version, actor=demo["frank"], now=NOW)


def test_version_one_is_in_force_from_the_start(demo):
    version = selectors.in_force(NOW)
    assert version is not None
    assert version.number == 1
    assert version.thresholds == FLOOR
    assert version.status == Status.APPROVED


def test_a_proposal_waits_for_another_section_lead(demo):
    version = propose(demo)
    assert version.number == 2
    assert version.status == Status.PROPOSED
    assert version.first_stage_cap == 20
    assert version.min_stages == 2
    assert selectors.in_force(MIDNIGHT + timedelta(days=1)).number == 1  # not approved yet
    with pytest.raises(errors.PolicyVersionRefused) as refused:
        services.policy_version_approve(version=version, actor=demo["bob"], now=NOW)
    assert refused.value.code == errors.SELF_APPROVAL
    with pytest.raises(errors.NotAllowed) as not_lead:
        services.policy_version_approve(version=version, actor=demo["dave"], now=NOW)
    assert not_lead.value.code == errors.NOT_A_SECTION_LEAD
    approved = services.policy_version_approve(version=version, actor=demo["frank"], now=NOW)
    assert approved.status == Status.APPROVED
    assert approved.decided_by == demo["frank"]
    codes = list(AuditEvent.objects.order_by("id").values_list("code", "actor_label"))
    assert (EventCode.POLICY_VERSION_PROPOSED, "bob") in codes
    assert (EventCode.POLICY_VERSION_APPROVED, "frank") in codes
    event = AuditEvent.objects.get(code=EventCode.POLICY_VERSION_APPROVED)
    assert event.data["changes"] == {"first_stage_cap": {"from": 25.0, "to": 20.0}}


def test_only_section_leads_propose(demo):
    with pytest.raises(errors.NotAllowed):
        propose(demo, by="dave")  # an operator
    with pytest.raises(errors.NotAllowed):
        propose(demo, by="admin")  # an administrator is no section lead


def test_loosening_is_refused_with_the_fields_path(demo):
    with pytest.raises(errors.PolicyVersionInvalid) as invalid:
        propose(demo, critical_initial_cap=15, max_waiver_days=120, min_stages=3)
    assert [(e.field, e.code) for e in invalid.value.errors] == [
        ("critical_initial_cap", LOOSENS_POLICY),
        ("max_waiver_days", LOOSENS_POLICY),
    ]
    assert not PolicyVersion.objects.filter(number=2).exists()


def test_a_version_changing_nothing_or_without_rationale_or_in_the_past(demo):
    with pytest.raises(errors.PolicyVersionInvalid) as invalid:
        services.policy_version_propose(
            actor=demo["bob"],
            values={"min_stages": 2},
            rationale="  ",
            effective_at=NOW - timedelta(seconds=1),
            now=NOW,
        )
    assert {(e.field, e.code) for e in invalid.value.errors} == {
        (None, NO_CHANGE),
        ("rationale", errors.BLANK),
        ("effective_at", errors.IN_PAST),
    }


def test_rejected_and_withdrawn_versions_never_take_effect(demo):
    version = propose(demo)
    with pytest.raises(errors.NotAllowed):
        services.policy_version_withdraw(version=version, actor=demo["frank"], now=NOW)
    with pytest.raises(errors.PolicyVersionInvalid):
        services.policy_version_reject(version=version, actor=demo["frank"], reason="", now=NOW)
    services.policy_version_reject(
        version=version, actor=demo["frank"], reason="Too strict for connectors.", now=NOW
    )
    with pytest.raises(errors.PolicyVersionRefused) as closed:
        services.policy_version_approve(version=version, actor=demo["frank"], now=NOW)
    assert closed.value.code == errors.NOT_UNDER_REVIEW
    again = propose(demo, min_stages=3)
    assert again.number == 3
    services.policy_version_withdraw(version=again, actor=demo["bob"], now=NOW)
    assert selectors.in_force(MIDNIGHT + timedelta(days=30)).number == 1
    assert set(
        AuditEvent.objects.filter(
            code__in=[EventCode.POLICY_VERSION_REJECTED, EventCode.POLICY_VERSION_WITHDRAWN]
        ).values_list("actor_label", flat=True)
    ) == {"frank", "bob"}


def test_in_force_from_midnight_exactly(version_two):
    assert selectors.in_force(MIDNIGHT - timedelta(seconds=1)).number == 1
    assert selectors.in_force(MIDNIGHT).number == 2
    assert selectors.in_force(MIDNIGHT + timedelta(seconds=1)).number == 2


def test_approved_late_it_takes_effect_at_the_approval(demo):
    version = propose(demo)
    later = MIDNIGHT + timedelta(hours=5)
    approved = services.policy_version_approve(version=version, actor=demo["frank"], now=later)
    assert approved.effective_at == later
    assert selectors.in_force(later - timedelta(seconds=1)).number == 1


def test_the_four_eyes_rule_is_held_by_the_database(demo):
    from django.db import IntegrityError, transaction

    version = propose(demo)
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(pk=version.pk).update(
            status=Status.APPROVED, decided_by=demo["bob"], decided_at=NOW
        )


def critical_body(proposal_body, initial=25.0):
    proposal_body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 25
    return proposal_body


def test_a_proposal_validated_one_second_before_uses_the_old_version(version_two, proposal_body):
    proposal_body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 25
    with time_machine.travel(MIDNIGHT - timedelta(seconds=1), tick=False):
        before = check_submission(proposal_body)
    with time_machine.travel(MIDNIGHT, tick=False):
        at = check_submission(proposal_body)
    assert before.policy_version.number == 1
    assert before.valid
    assert at.policy_version.number == 2
    assert [e.code for e in at.errors] == ["first_stage_too_large"]
    assert "at most 20" in at.errors[0].message


def test_a_running_wedge_keeps_the_version_it_started_under(demo, submit):
    with time_machine.travel(NOW, tick=False):
        proposal = submit()
        wedge = wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    assert wedge.policy_version.number == 1
    opened = wedge.stage_opened_at
    assert wedge.pause_at == opened + 3 * timedelta(hours=wedge.observation_window_hours)
    version = propose(demo, pause_after_windows=2)
    services.policy_version_approve(version=version, actor=demo["frank"], now=NOW)
    with time_machine.travel(MIDNIGHT + timedelta(hours=1), tick=False):
        newer = submit(title="After the change")
        newer_wedge = wedge_start(proposal_id=newer.pk, actor=demo["dave"])
    wedge.refresh_from_db()
    assert wedge.policy_version.number == 1
    assert wedge.thresholds.pause_after_windows == 3
    assert newer_wedge.policy_version.number == 2
    window = timedelta(hours=newer_wedge.observation_window_hours)
    assert newer_wedge.pause_at == newer_wedge.stage_opened_at + 2 * window


def test_a_waiver_lasts_at_most_the_versions_days(demo, submit):
    from waivers import errors as waiver_errors
    from waivers.services import waiver_request

    version = propose(demo, max_waiver_days=30)
    services.policy_version_approve(version=version, actor=demo["frank"], now=NOW)
    one_stage = submit(
        rollout_wedge={
            "wedge_stages": [
                {
                    "stage_id": "all",
                    "target_percentage": 20,
                    "duration_hours": 1,
                    "success_criteria": ["error_rate < 0.01"],
                    "rollback_trigger": "error_rate > 0.05",
                }
            ]
        }
    )
    with time_machine.travel(MIDNIGHT, tick=False):
        with pytest.raises(waiver_errors.WaiverInvalid) as invalid:
            waiver_request(
                requester=demo["alice"], proposal=one_stage, rationale="Hotfix", duration_days=31
            )
        assert [(e.field, e.code) for e in invalid.value.errors] == [
            ("duration_days", waiver_errors.DURATION_OUT_OF_RANGE)
        ]
        assert "1 to 30 days" in invalid.value.errors[0].message
        waiver_request(
            requester=demo["alice"], proposal=one_stage, rationale="Hotfix", duration_days=30
        )
