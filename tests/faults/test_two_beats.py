"""Two beat schedulers run at once (a second beat started by mistake, or a failover).

Both tick over the same wedges. What must hold: every due wedge moves exactly
once (one stage, never two), with exactly one audit event and one outbox row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from webhooks.models import OutboxEvent
from webhooks.services import subscription_create
from wedges.models import MetricSnapshot, RolloutWedge, State
from wedges.services import rollout, wedge_start, wedges_tick

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

ROOT = Path(__file__).resolve().parents[2]
ADVANCING = 3  # window elapsed with a fresh healthy snapshot: due to advance (RWG-001)
PAUSING = 3  # open 3 x the window without evidence: due to pause (RWG-002)
IDLE = 2  # inside their window: nothing to do


def make_due(demo: Any, submit: Any) -> dict[str, list[int]]:
    """Started wedges in three groups, their clocks set back so a tick must act.

    The outbox rows are checked, not posted: tests using this run on the
    ``broker`` fixture's private Redis, where no worker consumes.
    """
    subscription_create(
        actor=demo["dave"],
        url="http://127.0.0.1:9/hook",
        secret="s" * 20,
        events=["RWG-001", "RWG-002"],
    )
    groups: dict[str, list[int]] = {"advance": [], "pause": [], "idle": []}
    now = timezone.now()
    for group, count in (("advance", ADVANCING), ("pause", PAUSING), ("idle", IDLE)):
        for _ in range(count):
            proposal = submit("alice")
            wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
            groups[group].append(proposal.pk)
    wedges = RolloutWedge.objects.filter
    wedges(proposal_id__in=groups["advance"]).update(
        stage_opened_at=now - timedelta(hours=2), window_ends_at=now - timedelta(hours=1)
    )
    for proposal_id in groups["advance"]:
        wedge = RolloutWedge.objects.get(proposal_id=proposal_id)
        snapshot = MetricSnapshot.objects.create(
            wedge=wedge,
            received_at=now - timedelta(minutes=1),
            values={"error_rate": 0.001, "p99": "120ms"},
            stage_index=wedge.current_stage_index,
            reported_by=demo["alice"],
        )
        wedges(pk=wedge.pk).update(latest_snapshot=snapshot)
    # Their stage opened three windows and a minute ago: due at its pause moment.
    opened = now - timedelta(hours=3, minutes=1)
    wedges(proposal_id__in=groups["pause"]).update(
        stage_opened_at=opened,
        window_ends_at=opened + timedelta(hours=1),
        pause_at=opened + timedelta(hours=3),
        due_at=opened + timedelta(hours=3),
    )
    return groups


def assert_moved_exactly_once(groups: dict[str, list[int]]) -> None:
    due = groups["advance"] + groups["pause"]
    events = Counter(
        AuditEvent.objects.filter(
            proposal_id__in=due + groups["idle"], code__startswith="RWG"
        ).values_list("proposal_id", "code")
    )
    expected = {(pk, "RWG-001"): 1 for pk in groups["advance"]}
    expected |= {(pk, "RWG-002"): 1 for pk in groups["pause"]}
    assert dict(events) == expected
    outbox = Counter(
        OutboxEvent.objects.filter(event_code__startswith="RWG").values_list(
            "proposal_id", "event_code"
        )
    )
    assert dict(outbox) == expected
    wedges = {w.proposal_id: w for w in RolloutWedge.objects.filter(proposal_id__in=due)}
    for pk in groups["advance"]:
        # From the implicit initial hold (-1) to stage 1 (index 0): one stage, not two.
        assert (wedges[pk].wedge_state, wedges[pk].current_stage_index) == (State.ACTIVE, 0)
        assert wedges[pk].exposure_percentage == 10
    for pk in groups["pause"]:
        assert (wedges[pk].wedge_state, wedges[pk].current_stage_index) == (State.PAUSED, -1)


@pytest.mark.django_db(transaction=True)
def test_two_ticks_interleaved_on_the_same_stale_read(demo, submit, broker, monkeypatch):
    """The worst interleaving, forced: both ticks decide from the same read, then race.

    A barrier in front of every row lock makes both ticks finish their
    unlocked read before either acts, and then take each due wedge's lock
    at the same moment; the loser must re-decide under the lock and do nothing.
    """
    groups = make_due(demo, submit)
    barrier = threading.Barrier(2, timeout=20)
    locked = rollout._locked

    def racing_lock(proposal_id: int) -> Any:
        barrier.wait()
        return locked(proposal_id)

    monkeypatch.setattr(rollout, "_locked", racing_lock)
    reports: list[Any] = []
    failures: list[BaseException] = []

    def beat() -> None:
        try:
            reports.append(wedges_tick())
        except BaseException as error:
            failures.append(error)
            barrier.abort()
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(reports) == 2
    due = ADVANCING + PAUSING
    # Both read every due wedge (the idle ones are inside their window);
    # between them they acted once per due wedge.
    assert [r.examined for r in reports] == [due] * 2
    total = Counter[str]()
    for report in reports:
        total.update(report.actions)
    assert dict(total) == {"advance": ADVANCING, "pause": PAUSING}
    assert_moved_exactly_once(groups)


# Boots Django, says "ready", waits for "go" on stdin, ticks once, prints its report.
TICK_SCRIPT = """
import json, sys
import django
django.setup()
from django.db import connection
from wedges.services import wedges_tick
connection.ensure_connection()
print("ready", flush=True)
sys.stdin.readline()
report = wedges_tick()
print(json.dumps({"examined": report.examined, "actions": report.actions}), flush=True)
"""


@pytest.mark.django_db(transaction=True)
def test_two_beat_processes_tick_at_the_same_moment(demo, submit, broker):
    """Two separate processes (as two beats' workers would be) tick the same wedges at once."""
    groups = make_due(demo, submit)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        ),
        "REDIS_URL": broker.url,
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", TICK_SCRIPT],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    # Both boot Django and connect first; then both are told to tick at once.
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready", process.stderr
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    total = Counter[str]()
    for report in reports:
        assert report["examined"] == ADVANCING + PAUSING  # the idle ones are inside their window
        total.update(report["actions"])
    assert dict(total) == {"advance": ADVANCING, "pause": PAUSING}
    assert_moved_exactly_once(groups)
