"""Which events reach subscribers, in which format, through the one outbox.

Rollout transitions are announced by the rollout services; waiver steps, a
canary's failure and the stage that waits for an operator's approval
(WDG-106, once a stage) reach the outbox too, and any code added to
``webhooks.events.AUDIT_ANNOUNCED`` is delivered from the moment it is
recorded, in every format, with no change to the service that records it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent
from webhooks import events
from webhooks.models import Delivery, DeliveryStatus, OutboxEvent
from webhooks.services import deliver, fan_out, subscription_create
from wedges.metrics import validate_metrics
from wedges.services import rollout, wedges_tick

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HEALTHY = validate_metrics({"metrics": {"error_rate": 0.001, "p99": "150ms"}})


@contextmanager
def capture() -> Iterator[list[dict[str, object]]]:
    """A local receiver that keeps every request's headers and body and answers 200."""
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"headers": dict(self.headers), "body": json.loads(body)})
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        received.append({"url": f"http://127.0.0.1:{server.server_address[1]}/hook"})
        yield received
    finally:
        server.shutdown()
        server.server_close()


def deliver_all(code: str) -> None:
    """Fan the outbox rows of ``code`` out and post each delivery once, as the workers do."""
    for event in OutboxEvent.objects.filter(event_code=code, fanned_out_at__isnull=True):
        for delivery_id in fan_out(event.pk):
            result = deliver(delivery_id)
            assert result is not None
            assert result.status == DeliveryStatus.DELIVERED, Delivery.objects.get(
                pk=delivery_id
            ).last_error


@override_settings(WEDGE_SITE_URL="https://wedge.example.com")
def test_a_rollback_reaches_slack_teams_and_cdevents_subscribers(
    demo, submit, django_capture_on_commit_callbacks
):
    with capture() as slack, capture() as teams, capture() as cdevents:
        for receiver, fmt in ((slack, "slack"), (teams, "teams"), (cdevents, "cdevents")):
            subscription_create(
                actor=demo["dave"],
                url=str(receiver.pop(0)["url"]),
                events=["RWG-003"],
                format=fmt,
                secret="" if fmt != "cdevents" else "a-webhook-secret-of-some-length",
            )
        proposal = submit("alice", external_reference="test/podinfo")
        with django_capture_on_commit_callbacks(execute=False):
            rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
            rollout.wedge_rollback(
                proposal_id=proposal.pk, actor=demo["dave"], reason="bad canary", now=T0
            )
        deliver_all("RWG-003")
    (slack_message,) = slack
    assert slack_message["body"]["blocks"][0]["text"]["text"] == (
        f"Rollout rolled back: #{proposal.pk} Roll out connector runtime 2.4"
    )
    assert f"https://wedge.example.com/proposals/{proposal.pk}/" in slack_message["body"]["text"]
    (teams_message,) = teams
    assert teams_message["body"]["attachments"][0]["contentType"] == (
        "application/vnd.microsoft.card.adaptive"
    )
    (cdevent,) = cdevents
    assert cdevent["headers"]["ce-type"] == "dev.cdevents.service.rolledback.0.3.0"
    assert cdevent["body"]["subject"]["id"] == "connector-runtime"


def test_waiver_steps_reach_the_outbox(demo, submit):
    from waivers.services import waiver_approve, waiver_request

    proposal = submit("alice", rollout_wedge={"initial_percentage": 20})
    waiver = waiver_request(
        requester=demo["alice"], rationale="hotfix", duration_days=30, proposal=proposal
    )
    waiver_approve(waiver=waiver, approver=demo["bob"])
    waiver_approve(waiver=waiver, approver=demo["carol"])
    codes = list(
        OutboxEvent.objects.filter(proposal_id=proposal.pk)
        .order_by("id")
        .values_list("event_code", flat=True)
    )
    assert codes == ["WDG-201", "WDG-202", "WDG-202", "WDG-203", "WDG-207"]
    approved = OutboxEvent.objects.get(event_code="WDG-203")
    assert approved.payload["waiver_id"] == waiver.pk
    assert approved.payload["title"] == proposal.title
    assert approved.payload["subsystem"] == "connector-runtime"
    assert approved.payload["actor"] == "carol"


def manual(submit, demo):
    proposal = submit("alice", rollout_wedge={"increment_policy": "manual"})
    rollout.wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    return proposal


def awaiting(proposal):
    return list(AuditEvent.objects.filter(proposal_id=proposal.pk, code="WDG-106").order_by("id"))


def test_a_manual_stage_awaiting_approval_is_announced_once_by_the_snapshot(demo, submit):
    proposal = manual(submit, demo)
    for minutes in (60, 61, 65):
        rollout.wedge_record_snapshot(
            proposal_id=proposal.pk,
            metrics=HEALTHY,
            actor=demo["alice"],
            now=T0 + timedelta(minutes=minutes),
        )
        wedges_tick(now=T0 + timedelta(minutes=minutes, seconds=5))
    (event,) = awaiting(proposal)
    assert event.stage_id == "initial"
    assert event.occurred_at == T0 + timedelta(minutes=60)
    assert event.data["rule"] == "awaiting_approval"
    outbox = OutboxEvent.objects.get(event_code="WDG-106")
    assert outbox.payload["wedge_state"] == "ACTIVE"
    assert "operator approval" in outbox.payload["reason"]


def test_the_tick_announces_a_stage_that_became_eligible_by_time(demo, submit):
    proposal = manual(submit, demo)
    rollout.wedge_record_snapshot(
        proposal_id=proposal.pk,
        metrics=HEALTHY,
        actor=demo["alice"],
        now=T0 + timedelta(minutes=55),
    )
    assert awaiting(proposal) == []
    wedges_tick(now=T0 + timedelta(minutes=60) - timedelta(seconds=1))
    assert awaiting(proposal) == []
    wedges_tick(now=T0 + timedelta(minutes=60))
    wedges_tick(now=T0 + timedelta(minutes=60, seconds=5))
    assert len(awaiting(proposal)) == 1


def test_each_stage_is_announced_again_after_an_approval(demo, submit):
    proposal = manual(submit, demo)
    moment = T0 + timedelta(hours=1)
    rollout.wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=HEALTHY, actor=demo["alice"], now=moment
    )
    rollout.wedge_approve_advance(
        proposal_id=proposal.pk, actor=demo["dave"], reason="ok", now=moment
    )
    moment += timedelta(hours=1)
    rollout.wedge_record_snapshot(
        proposal_id=proposal.pk, metrics=HEALTHY, actor=demo["alice"], now=moment
    )
    assert [event.stage_id for event in awaiting(proposal)] == ["initial", "canary"]


def test_a_code_added_to_the_list_is_delivered_with_no_change_to_its_service(
    demo, submit, monkeypatch
):
    from governance.services import incident_record

    code = "WDG-501"  # stands for any event a service records, as a metric provider's failures
    monkeypatch.setattr(events, "AUDIT_ANNOUNCED", events.AUDIT_ANNOUNCED | {code})
    monkeypatch.setattr(events, "DELIVERABLE", events.DELIVERABLE | {code})
    with capture() as slack:
        subscription_create(
            actor=demo["dave"], url=str(slack.pop(0)["url"]), events=[code], format="slack"
        )
        proposal = submit("alice")
        now = timezone.now()
        incident_record(
            proposal=proposal,
            reported_by=demo["dave"],
            occurred_at=now,
            severity="SEV2",
            affected_percentage=Decimal("5"),
            summary="errors in eu-west-1",
            now=now,
        )
        deliver_all(code)
    (message,) = slack
    assert message["body"]["blocks"][0]["text"]["text"] == (
        f"Incident recorded against a proposal: #{proposal.pk} {proposal.title}"
    )
    assert message["body"]["blocks"][1]["text"]["text"] == "errors in eu-west-1"


def test_subscriptions_may_ask_only_for_what_is_delivered(demo, token_client):
    dave = token_client("dave")
    url = "http://127.0.0.1:9/hook"
    never = dave.post(
        "/api/v1/webhooks/",
        {"url": url, "secret": "a-long-shared-secret", "events": ["WDG-301"]},
        format="json",
    )
    assert never.status_code == 400
    assert never.json()["errors"][0]["code"] == "not_delivered"
    beyond = dave.post(
        "/api/v1/webhooks/",
        {"url": url, "secret": "a-long-shared-secret", "events": ["RWG-001"], "format": "cdevents"},
        format="json",
    )
    assert beyond.status_code == 400
    assert beyond.json()["errors"][0] == {
        "field": "events",
        "code": "not_in_format",
        "message": "The cdevents format carries only RWG-003, RWG-004; not RWG-001.",
    }
    unsigned = dave.post("/api/v1/webhooks/", {"url": url, "events": ["RWG-003"]}, format="json")
    assert unsigned.status_code == 400
    assert unsigned.json()["errors"][0]["code"] == "secret_required"
    chat = dave.post(
        "/api/v1/webhooks/",
        {"url": url, "events": ["RWG-003", "WDG-106", "WDG-703"], "format": "teams"},
        format="json",
    )
    assert chat.status_code == 201, chat.json()
    assert chat.json()["format"] == "teams"
    assert "secret" not in chat.json()
    changed = dave.patch(
        f"/api/v1/webhooks/{chat.json()['id']}/", {"events": ["WDG-301"]}, format="json"
    )
    assert changed.status_code == 400
