"""A small, known quarter of rollouts, incidents and waivers, built through the real services.

Everything happens in 2026Q4 unless said otherwise; the figures the tests
expect are worked out next to each step. Proposals use ``tests.documents``:
a 5 % implicit hold, then canary 10 %, half 50 %, full 90 %; 1 h windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import time_machine
from django.db import transaction

from governance.models import Incident
from governance.services import incident_record
from org.models import Subsystem, User
from waivers import services as waiver_services
from waivers.models import WaiverRequest
from wedges.models import ChangeProposal, MetricSnapshot, RolloutWedge, ToldVia
from wedges.services import rollout
from wedges.services.timing import rollback_told

HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}
Q4_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
Q1_START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


@contextmanager
def at(moment: dt.datetime) -> Iterator[None]:
    with time_machine.travel(moment, tick=False):
        yield


@dataclass
class Quarter4:
    users: dict[str, User]
    proposals: dict[str, ChangeProposal] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    waivers: dict[str, WaiverRequest] = field(default_factory=dict)


class Builder:
    """Drives the real services at chosen moments."""

    def __init__(self, users: dict[str, User], submit: Any) -> None:
        self.users = users
        self._submit = submit

    def submit(self, moment: dt.datetime, **changes: Any) -> ChangeProposal:
        with at(moment):
            return self._submit("alice", **changes)

    def start(self, proposal: ChangeProposal, moment: dt.datetime) -> None:
        with at(moment):
            rollout.wedge_start(proposal_id=proposal.pk, actor=self.users["dave"], now=moment)

    def snapshot(self, proposal: ChangeProposal, metrics: dict[str, Any], moment: dt.datetime):
        with at(moment):
            return rollout.wedge_record_snapshot(
                proposal_id=proposal.pk, metrics=metrics, actor=self.users["alice"], now=moment
            )

    def pause(self, proposal: ChangeProposal, moment: dt.datetime) -> None:
        with at(moment):
            rollout.wedge_pause(
                proposal_id=proposal.pk, actor=self.users["dave"], reason="hold", now=moment
            )

    def rollback(self, proposal: ChangeProposal, moment: dt.datetime) -> None:
        with at(moment):
            rollout.wedge_rollback(
                proposal_id=proposal.pk, actor=self.users["dave"], reason="bad", now=moment
            )

    def told(self, proposal: ChangeProposal, moment: dt.datetime, via: str = "desired_state"):
        """The deployer learnt of the rollback at ``moment`` (a read or a delivery)."""
        wedge = RolloutWedge.objects.get(proposal=proposal)
        assert rollback_told(wedge_id=wedge.pk, via=ToldVia(via), now=moment)

    def tick(self, moment: dt.datetime) -> rollout.TickReport:
        with at(moment):
            return rollout.wedges_tick(now=moment)

    def stored_breach(self, proposal: ChangeProposal, moment: dt.datetime) -> None:
        """A breaching snapshot stored but not yet evaluated: the beat tick must catch it."""
        with transaction.atomic():
            wedge = RolloutWedge.objects.get(proposal=proposal)
            wedge.latest_snapshot = MetricSnapshot.objects.create(
                wedge=wedge,
                received_at=moment,
                values=BREACH,
                stage_index=wedge.current_stage_index,
                reported_by=self.users["alice"],
            )
            wedge.save(update_fields=["latest_snapshot"])

    def incident(
        self,
        proposal: ChangeProposal,
        occurred_at: dt.datetime,
        severity: str,
        affected: str,
        *,
        recorded_at: dt.datetime | None = None,
    ) -> Incident:
        moment = recorded_at or utc(2026, 12, 1, 9)
        with at(moment):
            return incident_record(
                proposal=ChangeProposal.objects.select_related(
                    "subsystem__section", "rollout_wedge"
                ).get(pk=proposal.pk),
                reported_by=self.users["dave"],
                occurred_at=occurred_at,
                severity=severity,
                affected_percentage=affected,
                summary=f"{severity} on #{proposal.pk}",
            )

    def standing_waiver(self, moment: dt.datetime, change_type: str) -> WaiverRequest:
        with at(moment):
            return waiver_services.waiver_request(
                requester=self.users["alice"],
                rationale="A one-stage rollout is enough.",
                duration_days=30,
                subsystem=Subsystem.objects.get(slug="connector-runtime"),
                change_type=change_type,
            )


@pytest.fixture
def builder(demo: dict[str, User], submit: Any) -> Builder:
    return Builder(demo, submit)


@pytest.fixture
def quarter4(demo: dict[str, User], builder: Builder) -> Quarter4:
    """The known data set; see the module docstring and the comments for the figures."""
    b = builder
    data = Quarter4(users=demo)
    p, w, i = data.proposals, data.waivers, data.incidents
    bob, carol = demo["bob"], demo["carol"]

    # 2026Q3: W3 requested; P5 submitted one second before Q4.
    w["W3"] = b.standing_waiver(utc(2026, 9, 30, 12), "security_patch")
    p["P5"] = b.submit(utc(2026, 9, 30, 23, 59, 59))

    # Q4's first instant: P6 submitted (never started); W3 revoked.
    p["P6"] = b.submit(Q4_START, change_type="security_patch")
    with at(Q4_START):
        waiver_services.waiver_revoke(waiver=w["W3"], actor=bob, reason="not needed")

    # W1: requested, granted (two approvals), expired 30 days later.
    w["W1"] = b.standing_waiver(utc(2026, 10, 2, 9), "policy_update")
    with at(utc(2026, 10, 3, 9)):
        waiver_services.waiver_approve(waiver=w["W1"], approver=bob)
    with at(utc(2026, 10, 3, 10)):
        waiver_services.waiver_approve(waiver=w["W1"], approver=carol)

    # P1: completes (initial 5 -> canary 10 -> half 50 -> full 90 -> COMPLETE).
    t = utc(2026, 10, 5, 9)
    p["P1"] = b.submit(t)
    b.start(p["P1"], t)
    for hour in (1, 2, 3, 4):
        b.snapshot(p["P1"], HEALTHY, t + dt.timedelta(hours=hour))

    # P2: advances to canary (10 %), then a breaching snapshot rolls it back in
    # the request, caught at 10 %; its deployer reads the desired state 5 s later.
    t = utc(2026, 10, 10, 9)
    p["P2"] = b.submit(t)
    b.start(p["P2"], t)
    b.snapshot(p["P2"], HEALTHY, t + dt.timedelta(hours=1))
    b.snapshot(p["P2"], BREACH, t + dt.timedelta(hours=1, minutes=30))
    b.told(p["P2"], t + dt.timedelta(hours=1, minutes=30, seconds=5))

    # W2: requested, rejected.
    w["W2"] = b.standing_waiver(utc(2026, 10, 20, 9), "control_plane")
    with at(utc(2026, 10, 21, 9)):
        waiver_services.waiver_reject(waiver=w["W2"], approver=carol, reason="needs stages")

    # P3: an operator's hold at 5 %, then an operator's rollback (not timed).
    t = utc(2026, 11, 1, 9)
    p["P3"] = b.submit(t)
    b.start(p["P3"], t)
    b.pause(p["P3"], t + dt.timedelta(minutes=30))
    b.rollback(p["P3"], t + dt.timedelta(hours=1))
    # Its deployer learns 61 s later: the SLO missed by a second.
    b.told(p["P3"], t + dt.timedelta(hours=1, seconds=61), via="webhook")

    # W1 expires (approved 2026-10-03 10:00 for 30 days).
    waiver_services.waivers_expire(now=utc(2026, 11, 3))

    # P7: a breach stored at 10:10 (past the first window, so the tick reads the
    # wedge) and caught by the beat tick 20 s later, at 5 %.
    t = utc(2026, 11, 10, 9)
    p["P7"] = b.submit(t)
    b.start(p["P7"], t)
    b.stored_breach(p["P7"], t + dt.timedelta(hours=1, minutes=10))
    assert b.tick(t + dt.timedelta(hours=1, minutes=10, seconds=20)).actions == {"rollback": 1}
    # Told exactly 60 s after the breach arrived: within the SLO.
    b.told(p["P7"], t + dt.timedelta(hours=1, minutes=11))

    # P4: paused automatically at 3 x the window, at 5 %; stays PAUSED.
    t = utc(2026, 11, 15, 9)
    p["P4"] = b.submit(t)
    b.start(p["P4"], t)
    assert b.tick(t + dt.timedelta(hours=3)).actions == {"pause": 1}

    # Incidents of Q4 (recorded 2026-12-01).
    i["I6"] = b.incident(p["P6"], Q4_START, "SEV3", "0")  # PENDING wedge: not contained
    i["I1"] = b.incident(p["P2"], utc(2026, 10, 10, 10, 20), "SEV2", "8")  # 8 <= 10: contained
    i["I2"] = b.incident(p["P2"], utc(2026, 10, 10, 10, 25), "SEV1", "30")  # 30 > 10: escaped
    i["I3"] = b.incident(p["P1"], utc(2026, 10, 6, 8), "SEV3", "2")  # COMPLETE: not contained
    i["I4"] = b.incident(p["P4"], utc(2026, 11, 15, 11), "SEV4", "5")  # 5 <= 5 paused: contained

    # P5 starts in Q4's last second and rolls back in Q1's first instant.
    b.start(p["P5"], Q1_START - dt.timedelta(seconds=1))
    b.snapshot(p["P5"], BREACH, Q1_START)
    # An incident at Q1's first instant belongs to Q1.
    i["I5"] = b.incident(p["P3"], Q1_START, "SEV2", "3", recorded_at=utc(2027, 1, 2))
    return data
