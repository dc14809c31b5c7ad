"""Existing rows: a section for each subscription, our own words for each error.

A subscription whose creator leads exactly one section belongs to it; the
others stay organisation-wide (operators and admins manage them). The error
text an earlier version kept could hold the receiver's reply; it becomes the
short form the service writes now.
"""

from typing import Any

from django.db import migrations


def short_error(status_code: int | None, error: str) -> str:
    if not error:
        return ""
    if status_code is not None:
        if 300 <= status_code < 400:
            return f"redirect not followed: HTTP {status_code}"
        return f"HTTP {status_code}"
    if "Timeout" in error or "timed out" in error:
        return "timeout"
    if "Connection refused" in error:
        return "connection refused"
    if "SSLError" in error:
        return "TLS error"
    if error.startswith("ConnectionError"):
        return "connection failed"
    return "request failed"


def forwards(apps: Any, schema_editor: Any) -> None:
    Subscription = apps.get_model("webhooks", "Subscription")
    Delivery = apps.get_model("webhooks", "Delivery")
    Section = apps.get_model("org", "Section")
    for subscription in Subscription.objects.filter(section__isnull=True):
        led = list(Section.objects.filter(leads=subscription.created_by_id)[:2])
        if len(led) == 1:
            subscription.section = led[0]
            subscription.save(update_fields=["section"])
    for delivery in Delivery.objects.exclude(last_error="").only("last_status_code", "last_error"):
        delivery.last_error = short_error(delivery.last_status_code, delivery.last_error)
        delivery.save(update_fields=["last_error"])


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0001_initial"),
        ("webhooks", "0002_outbox_events_leases_sections"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
