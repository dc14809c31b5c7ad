"""``wedge watch`` follows a rollout to its end: exit 0 COMPLETE, 3 ROLLED_BACK, 4 PAUSED.

The watcher is the installed program in a process of its own, as a pipeline
runs it, while the test drives the rollout through the API of a live server.
Rollouts start now, not at a fixed date: a Celery worker left running by other
tests may tick, and a tick would pause a rollout whose windows all lie in the
past. Later moments are reached by travelling forward, where no tick looks.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from datetime import timedelta

import pytest
import time_machine

from org.tokens import api_token_for
from wedges.models import RolloutWedge

from .conftest import WEDGE, run

pytestmark = pytest.mark.django_db(transaction=True)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}
BREACH = {"error_rate": 0.2, "p99": "150ms"}


@pytest.fixture
def pipeline(live_server, demo):
    return {"WEDGE_URL": live_server.url, "WEDGE_TOKEN": api_token_for(user=demo["alice"])}


@pytest.fixture
def dave(token_client):
    return token_client("dave")


class Watcher:
    """``wedge watch`` in its own process; a thread collects its lines as they come."""

    def __init__(self, pipeline, proposal_id, *extra):
        self.process = subprocess.Popen(
            [str(WEDGE), "watch", str(proposal_id), "--interval", "0.2", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **pipeline},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self):
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)  # the end of its output

    def wait_for(self, needle, timeout=30):
        """Lines shown until one holds ``needle`` (never blocking past ``timeout``)."""
        seen = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.out.append(line)
            seen.append(line)
            if needle in line:
                return seen
        raise AssertionError(f"{needle!r} never shown; saw {seen}")

    def finish(self, timeout=30):
        """Its exit code, all it printed and its standard error."""
        self.process.wait(timeout=timeout)
        while (line := self.lines.get(timeout=timeout)) is not None:
            self.out.append(line)
        assert self.process.stderr is not None
        out = "".join(f"{line}\n" for line in self.out)
        return self.process.returncode, out, self.process.stderr.read()

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


def post(client, proposal, action, body, moment=None):
    """An API call as ``client``, at ``moment`` (a later time, travelled to) or now."""
    url = f"/api/v1/proposals/{proposal.pk}/{action}/"
    if moment is None:
        response = client.post(url, body, format="json")
    else:
        with time_machine.travel(moment, tick=False):
            response = client.post(url, body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_exit_0_when_the_rollout_completes(submit, dave, watch):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"})
    watcher = watch(proposal.pk)
    watcher.wait_for("ACTIVE · stage 0 of 3 (initial) · exposure 5 %")
    moment = RolloutWedge.objects.get(proposal=proposal).stage_opened_at
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
    post(dave, proposal, "start", {"reason": "go"})
    watcher = watch(proposal.pk)
    watcher.wait_for("ACTIVE")
    post(dave, proposal, "metrics", {"metrics": BREACH})
    code, out, _ = watcher.finish()
    assert code == 3
    assert "ROLLED_BACK" in out
    assert out.splitlines()[-1] == f"proposal {proposal.pk}: rolled back"


def test_exit_4_when_the_rollout_is_paused(submit, dave, watch, pipeline, demo):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"})
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
    post(dave, proposal, "start", {"reason": "go"})
    watcher.wait_for("ACTIVE")
    post(dave, proposal, "rollback", {"reason": "no"})
    assert watcher.finish()[0] == 3


def test_exit_6_when_time_runs_out(submit, dave, watch):
    proposal = submit()
    post(dave, proposal, "start", {"reason": "go"})
    code, out, _ = watch(proposal.pk, "--timeout", "1").finish()
    assert code == 6
    assert out.splitlines()[-1] == "still ACTIVE after 1 s; giving up"


def test_an_unknown_proposal_fails_at_once(watch):
    code, out, err = watch(999999).finish()
    assert code == 1
    assert out == ""
    assert "HTTP 404" in err
