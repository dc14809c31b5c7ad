"""Subscriptions belong to a section: who sees them, what they may hold, how they end."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEvent
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, Subscription
from webhooks.services import enqueue

from .conftest import SECRET

BODY = {"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": ["RWG-003"]}


def create(client: Any, **changes: Any) -> Any:
    return client.post("/api/v1/webhooks/", {**BODY, **changes}, format="json")


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_a_section_lead_sees_only_the_subscriptions_of_the_sections_they_lead(
    token_client, subscribe, outbox_row
):
    bob, frank = token_client("bob"), token_client("frank")
    platform = create(bob, url="http://127.0.0.1:9/platform")
    security = create(frank, url="http://127.0.0.1:9/security")
    assert platform.status_code == security.status_code == 201
    assert platform.json()["section"] == "platform"
    assert security.json()["section"] == "security"
    theirs = security.json()["id"]
    outbox_row(Subscription.objects.get(pk=theirs))

    assert ids(bob.get("/api/v1/webhooks/")) == [platform.json()["id"]]
    assert bob.get(f"/api/v1/webhooks/{theirs}/").status_code == 404
    log = bob.get(f"/api/v1/webhooks/{theirs}/deliveries/")
    assert log.status_code == 404
    assert log.json()["errors"][0]["code"] == "not_found"
    assert (
        bob.patch(f"/api/v1/webhooks/{theirs}/", {"active": False}, format="json").status_code
        == 404
    )
    assert bob.delete(f"/api/v1/webhooks/{theirs}/").status_code == 404
    # Organisation-wide roles see every section's subscriptions.
    everything = sorted([platform.json()["id"], theirs])
    assert sorted(ids(token_client("admin").get("/api/v1/webhooks/"))) == everything
    assert sorted(ids(token_client("dave").get("/api/v1/webhooks/"))) == everything
    assert (
        len(token_client("dave").get(f"/api/v1/webhooks/{theirs}/deliveries/").json()["results"])
        == 1
    )


@pytest.mark.django_db
def test_a_lead_cannot_subscribe_for_a_section_they_do_not_lead(token_client):
    answer = create(token_client("bob"), section="security")
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "not_section_lead"
    assert not Subscription.objects.exists()
    unknown = create(token_client("bob"), section="nowhere")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "section"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@127.0.0.1:9/hook",
        "https://token@deployer.example/hook",
        "http://user:@127.0.0.1:9/hook",
    ],
)
def test_credentials_in_the_url_are_refused(token_client, url):
    answer = create(token_client("dave"), url=url)
    assert answer.status_code == 400
    assert answer.json()["errors"] == [
        {
            "field": "url",
            "code": "credentials_in_url",
            "message": answer.json()["errors"][0]["message"],
        }
    ]
    assert url not in answer.content.decode()
    assert not Subscription.objects.exists()
    assert not AuditEvent.objects.filter(code="WDG-401").exists()


@pytest.mark.django_db
def test_a_section_holds_at_most_the_configured_number_of_subscriptions(token_client, settings):
    settings.WEDGE_WEBHOOK_MAX_SUBSCRIPTIONS_PER_SECTION = 2
    bob = token_client("bob")
    assert [create(bob).status_code for _ in range(2)] == [201, 201]
    third = create(bob)
    assert third.status_code == 409
    assert third.json()["errors"][0]["code"] == "subscription_limit"
    # Another section has its own allowance; a deleted subscription frees a place.
    assert create(token_client("frank")).status_code == 201
    first = Subscription.objects.filter(section__slug="platform").first()
    assert first is not None
    assert bob.delete(f"/api/v1/webhooks/{first.pk}/").status_code == 204
    assert create(bob).status_code == 201


@pytest.mark.django_db
def test_a_subscription_can_be_deactivated_and_gets_nothing_more(
    token_client, subscribe, outbox_row
):
    dave = token_client("dave")
    subscription = subscribe("http://127.0.0.1:9/hook")
    waiting = outbox_row(subscription)
    answer = dave.patch(f"/api/v1/webhooks/{subscription.pk}/", {"active": False}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["active"] is False
    waiting.refresh_from_db()
    assert waiting.status == DeliveryStatus.CANCELLED
    change = AuditEvent.objects.filter(code="WDG-401").order_by("-id").first()
    assert change is not None
    assert change.data["subscription"] == subscription.pk
    assert change.data["active"] is False
    with transaction.atomic():
        event = enqueue(event_code="RWG-003", proposal_id=1, payload={}, now=waiting.created_at)
    services.fan_out(str(event.pk))
    assert Delivery.objects.filter(subscription=subscription).count() == 1
    # Only what may change is accepted.
    refused = dave.patch(
        f"/api/v1/webhooks/{subscription.pk}/", {"url": "http://x/"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "url"
    assert dave.put(f"/api/v1/webhooks/{subscription.pk}/", BODY, format="json").status_code == 405


@pytest.mark.django_db
def test_a_deleted_subscription_keeps_its_delivery_log(token_client, subscribe, outbox_row):
    dave = token_client("dave")
    subscription = subscribe("http://127.0.0.1:9/hook")
    delivered = outbox_row(subscription, status=DeliveryStatus.DELIVERED)
    assert dave.delete(f"/api/v1/webhooks/{subscription.pk}/").status_code == 204
    assert dave.get(f"/api/v1/webhooks/{subscription.pk}/").status_code == 404
    assert ids(dave.get("/api/v1/webhooks/")) == []
    assert Delivery.objects.filter(pk=delivered.pk).exists()
    subscription.refresh_from_db()
    assert subscription.deleted_at is not None
    assert not subscription.active
    change = AuditEvent.objects.filter(code="WDG-401").order_by("-id").first()
    assert change is not None
    assert change.data == {"subscription": subscription.pk, "deleted": True}


@pytest.mark.django_db
def test_the_delivery_log_keeps_only_a_short_error(token_client, subscribe, outbox_row):
    subscription = subscribe("http://127.0.0.1:9/hook")
    outbox_row(subscription, attempts=1, last_status_code=500, last_error="HTTP 500")
    row = token_client("dave").get(f"/api/v1/webhooks/{subscription.pk}/deliveries/").json()
    assert row["results"][0]["last_error"] == "HTTP 500"
    assert "payload" not in row["results"][0]


@pytest.mark.django_db
def test_a_transition_writes_one_outbox_row_whatever_the_number_of_subscribers(
    subscribe, django_capture_on_commit_callbacks, settings
):
    settings.WEDGE_WEBHOOK_MAX_SUBSCRIPTIONS_PER_SECTION = 50
    for n in range(30):
        subscribe(f"http://127.0.0.1:9/{n}")
    subscribe("http://127.0.0.1:9/other", events=["RWG-001"])
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        event = enqueue(event_code="RWG-003", proposal_id=7, payload={"a": 1}, now=timezone.now())
    assert not Delivery.objects.exists()  # fanned out by a worker, not in the request
    from webhooks.models import OutboxEvent

    assert OutboxEvent.objects.count() == 1
    created = services.fan_out(str(event.pk))
    assert len(created) == 30
    assert services.fan_out(str(event.pk)) == []  # a second fan-out (a re-drive) adds nothing
    assert Delivery.objects.filter(event=event).count() == 30


@pytest.mark.django_db
def test_a_lead_of_several_sections_names_one(token_client, demo):
    from org.models import Section

    Section.objects.get(slug="platform").leads.add(demo["frank"])
    frank = token_client("frank")
    unnamed = create(frank)
    assert unnamed.status_code == 400
    assert unnamed.json()["errors"][0]["field"] == "section"
    assert create(frank, section="platform").json()["section"] == "platform"


@pytest.mark.django_db
def test_credentials_kept_from_before_are_not_shown(token_client, demo):
    Subscription.objects.create(
        url="http://deployer:s3cret@127.0.0.1:9/hook",
        secret=SECRET,
        events=["RWG-003"],
        created_by=demo["dave"],
    )
    listed = token_client("dave").get("/api/v1/webhooks/")
    assert listed.json()["results"][0]["url"] == "http://***@127.0.0.1:9/hook"
    assert "s3cret" not in listed.content.decode()


def test_errors_kept_from_before_become_short():
    from importlib import import_module

    migration = import_module("webhooks.migrations.0003_sections_and_short_errors")
    assert migration.short_error(500, "<html>stack trace</html>") == "HTTP 500"
    assert migration.short_error(302, "") == ""
    assert migration.short_error(301, "moved") == "redirect not followed: HTTP 301"
    assert migration.short_error(None, "ReadTimeout: ... Read timed out.") == "timeout"
    refused = "ConnectionError: ... [Errno 111] Connection refused"
    assert migration.short_error(None, refused) == "connection refused"
