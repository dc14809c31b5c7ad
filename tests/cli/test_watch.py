"""``wedge watch`` follows a rollout to its end: exit 0 COMPLETE, 3 ROLLED_BACK, 4 PAUSED.

The watcher is the installed program in a process of its own, as a pipeline
runs it, while the test drives the rollout through the API of a live server.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from org.tokens import api_token_for

from .conftest import WEDGE, run

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


@pytest.fixture
def pipeline(live_server, demo):
    return {"WEDGE_URL": live_server.url, "WEDGE_TOKEN": api_token_for(user=demo["alice"])}


@pytest.fixture
def dave(token_client):
    return token_client("dave")


class Watcher:
    def __init__(self, pipeline, proposal_id, *extra):
        self.process = subprocess.Popen(
            [str(WEDGE), "watch", str(proposal_id), "--interval", "0.2", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **pipeline},
        )

    def wait_for(self, needle, timeout=30):
        """Lines read until one holds ``needle``."""
        assert self.process.stdout is not None
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip("\n"))
            if needle in line:
                return seen
        raise AssertionError(f"{needle!r} never shown; saw {seen}")

    def finish(self, timeout=30):
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def watch(pipeline):
    started = []

    def make(proposal_id, *extra):
        watcher = Watcher(pipeline, proposal_id, *extra)
        started.append(watcher)
        return watcher

    yield make
    for watcher in started:
        watcher.stop()


def post(client, proposal, action, body, moment):
    with time_machine.travel(moment, tick=False):
        response = client.post(f"/api/v1/proposals/{proposal.pk}/{action}/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_exit_0_when_the_rollout_completes(submit, dave, watch):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"}, T0)
    watcher = watch(proposal.pk)
    watcher.wait_for("ACTIVE · stage 0 of 3 (initial) · exposure 5 %")
    moment = T0
    for expected in ("(canary)", "(half)", "(full)"):
        moment += timedelta(hours=1)
        post(dave, proposal, "metrics", {"metrics": HEALTHY}, moment)
        watcher.wait_for(expected)
    post(dave, proposal, "metrics", {"metrics": HEALTHY}, moment + timedelta(hours=1))
    code, out, err = watcher.finish()
    assert code == 0, err
    lines = out.splitlines()
    assert "COMPLETE" in lines[-2]
    assert lines[-1] == f"proposal {proposal.pk}: completed"


def test_exit_3_when_the_rollout_rolls_back(submit, dave, watch):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"}, T0)
    watcher = watch(proposal.pk)
    watcher.wait_for("ACTIVE")
    post(dave, proposal, "metrics", {"metrics": BREACH}, T0 + timedelta(minutes=5))
    code, out, _ = watcher.finish()
    assert code == 3
    assert "ROLLED_BACK" in out
    assert out.splitlines()[-1] == f"proposal {proposal.pk}: rolled back"


def test_exit_4_when_the_rollout_is_paused(submit, dave, watch, pipeline, demo):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"}, T0)
    watcher = watch(proposal.pk)
    watcher.wait_for("ACTIVE")
    operator = {**pipeline, "WEDGE_TOKEN": api_token_for(user=demo["dave"])}
    assert run("pause", proposal.pk, "--reason", "hold", env=operator).code == 0
    code, out, _ = watcher.finish()
    assert code == 4
    assert out.splitlines()[-1] == f"proposal {proposal.pk}: paused"


def test_a_pending_rollout_is_waited_for(submit, dave, watch):
    proposal = submit()
    watcher = watch(proposal.pk)
    watcher.wait_for("PENDING")
    post(dave, proposal, "start", {"reason": "go"}, T0)
    watcher.wait_for("ACTIVE")
    post(dave, proposal, "rollback", {"reason": "no"}, T0 + timedelta(minutes=1))
    assert watcher.finish()[0] == 3


def test_exit_6_when_time_runs_out(submit, dave, watch):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"}, T0)
    code, out, _ = watch(proposal.pk, "--timeout", "1").finish()
    assert code == 6
    assert out.splitlines()[-1] == "still ACTIVE after 1 s; giving up"


def test_an_unknown_proposal_fails_at_once(watch):
    code, out, err = watch(999999).finish()
    assert code == 1
    assert out == ""
    assert "HTTP 404" in err
