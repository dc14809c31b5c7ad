"""What the webhook API reads and writes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audit.codes import EventCode
from org.models import Section
from webhooks.formats import Format
from webhooks.models import Delivery, Subscription
from webhooks.services import redacted_url


def _refuse_unknown(data: Any, allowed: set[str], code: str = "unknown_key") -> None:
    """A misspelt or unchangeable field is an error, not silently dropped."""
    unknown = sorted(set(data) - allowed) if isinstance(data, dict) else []
    if unknown:
        raise serializers.ValidationError(
            {
                key: [serializers.ErrorDetail(f"{key!r} cannot be set here", code=code)]
                for key in unknown
            }
        )


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    # The shape here; the service refuses credentials and other schemes for every caller.
    url = serializers.URLField(max_length=500)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="At least 16 characters; the json and cdevents formats sign with it. "
        "Not needed for slack and teams, whose URL is the credential.",
    )
    format = serializers.ChoiceField(
        choices=Format.choices,
        default=Format.JSON,
        help_text="json: signed JSON (X-Wedge-Signature); slack: Slack-compatible incoming "
        "webhook; teams: a Teams Adaptive Card; cdevents: CDEvents 0.5.1 as binary CloudEvents "
        "(RWG-003 and RWG-004 only).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventCode.choices), min_length=1
    )
    section: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Section.objects.all(),
        required=False,
        allow_null=True,
        help_text="The owning section; by default the one you lead. Empty: organisation-wide.",
    )
    created_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "url",
            "secret",
            "format",
            "events",
            "section",
            "active",
            "created_by",
            "created_at",
            "consecutive_failures",
            "circuit_open_until",
        ]
        read_only_fields = ["active", "created_at", "consecutive_failures", "circuit_open_until"]

    def to_internal_value(self, data: Any) -> Any:
        _refuse_unknown(data, {"url", "secret", "format", "events", "section"})
        return super().to_internal_value(data)

    def to_representation(self, instance: Subscription) -> dict[str, Any]:
        shown = super().to_representation(instance)
        shown["url"] = redacted_url(instance.url)  # rows from before credentials were refused
        return shown


class SubscriptionChangeSerializer(serializers.Serializer[Any]):
    """PATCH: deactivate (``active: false``), reactivate, or change the events."""

    active = serializers.BooleanField(required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventCode.choices), min_length=1, required=False
    )

    def to_internal_value(self, data: Any) -> Any:
        _refuse_unknown(data, set(self.fields), code="not_changeable")
        return super().to_internal_value(data)


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_code",
            "proposal_id",
            "status",
            "attempts",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
