"""The agent as a program, against a real Wedge, a real Celery worker and a real HAProxy."""

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from org.tokens import api_token_for
from tests.workers import wait_until
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import subscription_create
from wedges.models import MetricSnapshot
from wedges.services import wedge_rollback, wedge_start

from .conftest import free_port

SECRET = "the-agent-subscription-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_rollback_reaches_haproxy_and_the_applied_exposure_reaches_wedge(
    live_server, demo, submit, celery_worker_process, haproxy, tmp_path
):
    proposal = submit("alice")
    wedge_start(proposal_id=proposal.pk, actor=demo["dave"], reason="change window")
    port = free_port()
    subscription_create(
        actor=demo["dave"],
        url=f"http://127.0.0.1:{port}/hooks/wedge",
        secret=SECRET,
        events=["RWG-001", "RWG-002", "RWG-003", "RWG-004", "WDG-102", "WDG-103"],
    )
    config = tmp_path / "agent.toml"
    config.write_text(
        f'[wedge]\nurl = "{live_server.url}"\ntoken = "{api_token_for(user=demo["alice"])}"\n'
        # A long poll: within this test only a webhook can move the weights.
        "poll_seconds = 300\n"
        f'[webhook]\nlisten = "127.0.0.1:{port}"\nsecret = "{SECRET}"\n'
        f'[haproxy]\nsocket = "{haproxy.socket}"\n'
        f'[[follow]]\nproposal = {proposal.pk}\nbackend = "app"\nstable = "stable"\n'
        'canary = "canary"\n'
    )
    log = tmp_path / "agent.log"
    with log.open("w") as out:
        agent = subprocess.Popen(
            [sys.executable, "-m", "agent", "--config", str(config)], cwd=ROOT, stderr=out
        )
    try:
        # Reconciled on start: the initial 5 % is 12 of 256, reported as what HAProxy has.
        assert wait_until(lambda: haproxy.weights() == (12, 244), 20), log.read_text()
        assert wait_until(
            lambda: MetricSnapshot.objects.filter(
                wedge__proposal=proposal, values__exposure_percentage=4.6875
            ).exists(),
            20,
        ), log.read_text()
        snapshot = MetricSnapshot.objects.get(wedge__proposal=proposal)
        assert snapshot.reported_by == demo["alice"]
        assert snapshot.values == {"exposure_percentage": 4.6875}

        wedge_rollback(proposal_id=proposal.pk, actor=demo["dave"], reason="bad canary")
        assert wait_until(lambda: haproxy.weights() == (0, 256), 30), (
            log.read_text(),
            list(Delivery.objects.values("event_code", "status", "attempts", "last_error")),
        )
        assert haproxy.served(10) == ["stable"] * 10
        delivery = Delivery.objects.get(event_code="RWG-003")
        assert wait_until(
            lambda: Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED, 10
        )
        assert Delivery.objects.get(pk=delivery.pk).last_status_code == 202
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=15)
    text = log.read_text()
    assert code == 0, text
    [rolled_back] = [
        line for line in text.splitlines() if "event=applied" in line and "code=RWG-003" in line
    ]
    assert "wedge_state=ROLLED_BACK" in rolled_back
    assert "canary_weight=12->0 stable_weight=244->256" in rolled_back
    assert "event=webhook_rejected" not in text
    # Nothing was reported after the rollback: Wedge takes snapshots only while a wedge runs.
    assert MetricSnapshot.objects.filter(wedge__proposal=proposal).count() == 1
