"""What the metric provider API shows and what the Alertmanager receiver accepts."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from providers.models import AuthType


class MetricProviderSerializer(serializers.Serializer[Any]):
    """A provider as anyone signed in may read it: never its credentials."""

    name = serializers.CharField()
    kind = serializers.CharField()
    base_url = serializers.CharField()
    auth_type = serializers.ChoiceField(choices=AuthType.choices)
    has_credentials = serializers.BooleanField(help_text="Whether credentials are stored.")
    timeout_seconds = serializers.FloatField()
    max_concurrency = serializers.IntegerField()
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["database", "environment"],
        help_text="Configured by an admin, or WEDGE_PROMETHEUS_URL's default.",
    )
    failing_wedges = serializers.IntegerField(
        help_text="Running wedges whose queries to this provider are failing now."
    )


class AlertSerializer(serializers.Serializer[Any]):
    """One alert of Alertmanager's webhook (version 4); other keys are ignored."""

    status = serializers.ChoiceField(choices=["firing", "resolved"])
    labels = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=1000))
    annotations = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=10_000),
        required=False,
        default=dict,
    )
    startsAt = serializers.DateTimeField()  # Alertmanager's own key
    fingerprint = serializers.CharField(max_length=100)


class AlertmanagerSerializer(serializers.Serializer[Any]):
    """Alertmanager's webhook body; only ``version`` and ``alerts`` matter here."""

    version = serializers.CharField(required=False)
    alerts = serializers.ListField(child=AlertSerializer(), max_length=1000)

    def validate_version(self, value: str) -> str:
        if value != "4":
            raise serializers.ValidationError(
                f"Version {value!r} of the webhook is not understood; Alertmanager sends 4.",
                code="unsupported_version",
            )
        return value


class AlertOutcomeSerializer(serializers.Serializer[Any]):
    fingerprint = serializers.CharField()
    status = serializers.CharField()
    action = serializers.ChoiceField(
        choices=[
            "rolled_back",
            "nothing_running",
            "refused",
            "replayed",
            "resolved",
            "no_wedge_labels",
        ]
    )
    rolled_back = serializers.ListField(child=serializers.IntegerField())
    not_running = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.ListField(child=serializers.IntegerField())
    unknown = serializers.ListField(child=serializers.CharField())


class AlertsReceivedSerializer(serializers.Serializer[Any]):
    alerts = AlertOutcomeSerializer(many=True)
