"""``wedge submit``, the operator actions and ``wedge status`` against a live test server."""

from __future__ import annotations

import copy
import json
import socket
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from org.models import Scope
from org.tokens import api_token_for, token_issue
from tests.documents import PROPOSAL
from wedges.models import ChangeProposal, RolloutWedge

from .conftest import run, run_program

pytestmark = pytest.mark.django_db(transaction=True)
HEALTHY = {"error_rate": 0.001, "p99": "150ms"}


@pytest.fixture
def env(live_server, demo):
    """The environment of a pipeline acting as ``username`` (a token with all its rights)."""

    def make(username: str = "alice") -> dict[str, str]:
        return {"WEDGE_URL": live_server.url, "WEDGE_TOKEN": api_token_for(user=demo[username])}

    return make


def at(moment):
    return time_machine.travel(moment, tick=False)


def now():
    """This minute. Rollouts start now, not at a fixed date: a Celery worker left running
    by other tests may tick, and would pause a rollout whose windows lie in the past."""
    return timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)


def state(proposal_id):
    return RolloutWedge.objects.get(proposal_id=proposal_id).wedge_state


# --- submit ---------------------------------------------------------------------------------------


def test_submit_a_yaml_proposal(env, write, demo):
    result = run("submit", write("proposal.yaml", PROPOSAL), env=env())
    assert result.code == 0, result.err
    proposal = ChangeProposal.objects.get()
    assert result.out.strip() == (
        f"submitted proposal {proposal.pk} (PENDING): {env()['WEDGE_URL']}/proposals/{proposal.pk}/"
    )
    assert proposal.author == demo["alice"]
    assert proposal.title == PROPOSAL["title"]


def test_submit_json_quietly_and_idempotently(env, write):
    path = write("proposal.json", PROPOSAL)
    pipeline = env()
    first = run("submit", path, "-q", "--idempotency-key", "ci-run-4711", env=pipeline)
    again = run("submit", path, "-q", env={**pipeline, "WEDGE_IDEMPOTENCY_KEY": "ci-run-4711"})
    assert first.code == again.code == 0
    assert first.out.strip() == again.out.strip() == str(ChangeProposal.objects.get().pk)


def test_submit_json_output_is_the_proposal(env, write):
    result = run("submit", write("proposal.json", PROPOSAL), "--json", env=env())
    body = result.json()
    assert body["rollout_wedge"]["wedge_state"] == "PENDING"
    assert [s["stage_id"] for s in body["rollout_wedge"]["wedge_stages"]] == [
        "canary",
        "half",
        "full",
    ]


def test_a_refused_submission_lists_every_error_at_its_line(env, write):
    body = copy.deepcopy(PROPOSAL)
    body["subsystem"] = "conector-runtime"
    body["rollout_wedge"]["increment_policy"] = "lineal"
    path = write("proposal.yaml", body)
    text = path.read_text().splitlines()
    result = run("submit", path, env=env())
    assert result.code == 1
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == (
        f"wedge: POST {env()['WEDGE_URL']}/api/v1/proposals/: HTTP 400: subsystem: no subsystem "
        "'conector-runtime'; did you mean 'connector-runtime'? [unknown_subsystem] (and 1 more)"
    )
    policy_line = next(i for i, line in enumerate(text, 1) if "increment_policy" in line)
    assert lines[2] == (
        f"{path}:{policy_line}:3: error: rollout_wedge.increment_policy: increment_policy must "
        "be one of linear, exponential, manual, not 'lineal'; did you mean 'linear'? "
        "[increment_policy_invalid]"
    )
    assert ChangeProposal.objects.count() == 0


def test_a_proposal_that_needs_a_waiver_says_so(env, write):
    body = copy.deepcopy(PROPOSAL)
    body["rollout_wedge"]["wedge_stages"][0]["target_percentage"] = 30
    result = run("submit", write("proposal.json", body), env=env())
    assert result.code == 0
    assert "(PENDING; needs a waiver before it can start)" in result.out


def test_a_bad_file_is_refused_before_anything_is_sent(env, write):
    result = run("submit", write("proposal.yaml", "a: *x\n"), env=env())
    assert result.code == 2
    assert "aliases (*x) are not accepted" in result.err
    assert ChangeProposal.objects.count() == 0


# --- operator actions -----------------------------------------------------------------------------


def test_start_pause_resume_rollback(env, submit):
    proposal = submit()
    dave = env("dave")
    started = run("start", proposal.pk, "--reason", "change window", env=dave)
    assert started.code == 0, started.err
    assert started.out.strip() == f"proposal {proposal.pk}: ACTIVE at stage initial, exposure 5 %"
    assert run("pause", proposal.pk, "--reason", "hold", env=dave).out.strip() == (
        f"proposal {proposal.pk}: PAUSED at stage initial, exposure 5 %"
    )
    assert state(proposal.pk) == "PAUSED"
    assert run("resume", proposal.pk, env=dave).code == 0
    assert state(proposal.pk) == "ACTIVE"
    rolled = run("rollback", proposal.pk, "--reason", "bad canary", "--json", env=dave)
    assert rolled.json()["rollout_wedge"]["wedge_state"] == "ROLLED_BACK"
    assert rolled.json()["rollout_wedge"]["exposure_percentage"] == 0


def test_a_refused_action_is_exit_1_with_the_reason(env, submit):
    proposal = submit()
    result = run("pause", proposal.pk, env=env("dave"))
    assert result.code == 1
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith(
        f"wedge: POST {env()['WEDGE_URL']}/api/v1/proposals/{proposal.pk}/pause/: HTTP 409: "
    )


def test_advance_approves_an_eligible_manual_stage(env, submit, token_client):
    proposal = submit(rollout_wedge={"increment_policy": "manual"})
    dave = env("dave")
    t0 = now()
    with at(t0):
        assert run("start", proposal.pk, env=dave).code == 0
    early = run("advance", proposal.pk, env=dave)
    assert early.code == 1  # no snapshot yet
    assert "HTTP 409" in early.err
    with at(t0 + timedelta(hours=1)):
        reported = token_client("dave").post(
            f"/api/v1/proposals/{proposal.pk}/metrics/", {"metrics": HEALTHY}, format="json"
        )
        assert reported.status_code == 200
        advanced = run("advance", proposal.pk, "--reason", "looks good", env=dave)
    assert advanced.code == 0, advanced.err
    assert advanced.out.strip() == f"proposal {proposal.pk}: ACTIVE at stage canary, exposure 10 %"


def test_an_engineer_may_not_operate(env, submit):
    proposal = submit()
    result = run("start", proposal.pk, env=env("alice"))
    assert result.code == 1
    assert "HTTP 403" in result.err
    assert state(proposal.pk) == "PENDING"


def test_a_token_without_the_scope_is_refused(live_server, demo, submit):
    proposal = submit()
    issued = token_issue(
        owner=demo["dave"], actor=demo["dave"], name="agent", scopes=[Scope.METRICS_WRITE]
    )
    result = run(
        "start", proposal.pk, env={"WEDGE_URL": live_server.url, "WEDGE_TOKEN": issued.key}
    )
    assert result.code == 1
    assert "HTTP 403" in result.err
    assert "[insufficient_scope]" in result.err


# --- status ---------------------------------------------------------------------------------------


def test_status_of_a_running_rollout(env, submit, token_client):
    proposal = submit()
    t0 = now()
    with at(t0):
        assert run("start", proposal.pk, env=env("dave")).code == 0
    with at(t0 + timedelta(minutes=20)):
        token_client("dave").post(
            f"/api/v1/proposals/{proposal.pk}/metrics/",
            {"metrics": {"error_rate": 0.02, "p99": "150ms"}},
            format="json",
        )
        result = run("status", proposal.pk, env=env())
    assert result.code == 0, result.err
    out = result.out
    assert (
        f"Proposal {proposal.pk} · Roll out connector runtime 2.4 · connector-runtime · linear"
        in out
    )
    assert "ACTIVE · stage 0 of 3 (initial) · exposure 5 % (max 90 %)" in out
    assert "may advance in 40 min" in out
    assert "Criteria (latest snapshot 0 s ago):" in out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "✗ error_rate < 0.01 error_rate = 0.02" in lines
    assert "✓ p99 <= 200ms p99 = 150ms" in lines
    assert "initial 5 % ━━━━━━━━━━ may advance in 40 min" in lines  # 20 of 60 minutes
    with at(t0 + timedelta(minutes=20)):
        body = run("status", proposal.pk, "--json", env=env()).json()
    assert body["proposal"]["id"] == proposal.pk
    assert body["status"]["criteria"][0] == {
        "expression": "error_rate < 0.01",
        "met": False,
        "values": {"error_rate": 0.02},
    }


def test_status_of_a_pending_proposal(env, submit):
    proposal = submit()
    result = run("status", proposal.pk, env=env())
    assert result.code == 0
    assert "PENDING · exposure 0 % (max 90 %)" in result.out


def test_the_installed_program_against_the_server(env, submit):
    proposal = submit()
    result = run_program("status", proposal.pk, "--json", env=env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["wedge_state"] == "PENDING"


# --- what can go wrong ----------------------------------------------------------------------------


def test_an_unknown_proposal_is_a_404(env):
    result = run("status", 999999, env=env())
    assert result.code == 1
    [line] = result.err.splitlines()
    assert "HTTP 404" in line


def test_a_wrong_token_is_a_401(live_server, demo):
    result = run("status", 1, env={"WEDGE_URL": live_server.url, "WEDGE_TOKEN": "not-a-key"})
    assert result.code == 1
    [line] = result.err.splitlines()
    assert "HTTP 401" in line
    assert "[authentication_failed]" in line


def test_a_wedge_url_that_is_not_the_api(live_server, env):
    pipeline = {**env(), "WEDGE_URL": f"{live_server.url}/healthz"}
    result = run("status", 1, env=pipeline)
    assert result.code == 1
    [line] = result.err.splitlines()
    assert "not an answer of the Wedge API" in line
    assert "check WEDGE_URL" in line


@pytest.mark.parametrize(
    ("environment", "says"),
    [
        ({}, "WEDGE_URL is not set"),
        ({"WEDGE_URL": "http://127.0.0.1:1"}, "WEDGE_TOKEN is not set"),
        (
            {"WEDGE_URL": "wedge.example.org", "WEDGE_TOKEN": "k"},
            "WEDGE_URL must be an http(s) URL",
        ),
    ],
)
def test_missing_configuration_is_exit_2(environment, says):
    result = run("status", 1, env=environment)
    assert result.code == 2
    assert result.err.strip().startswith("wedge: ")
    assert says in result.err


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_is_down_is_exit_5():
    url = f"http://127.0.0.1:{free_port()}"
    result = run("start", 1, env={"WEDGE_URL": url, "WEDGE_TOKEN": "k"})
    assert result.code == 5
    assert result.err.strip() == f"wedge: cannot reach {url}: [Errno 111] Connection refused"


def test_a_server_that_does_not_answer_is_exit_5():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        result = run(
            "--http-timeout", "0.5", "status", 1, env={"WEDGE_URL": url, "WEDGE_TOKEN": "k"}
        )
    finally:
        listener.close()
        for connection, _ in accepted:
            connection.close()
    assert result.code == 5
    assert result.err.strip() == f"wedge: {url}/api/v1/proposals/1/: no answer within 0.5 s"
