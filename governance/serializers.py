"""API representations of incidents and the body that records one."""

from __future__ import annotations

from rest_framework import serializers

from governance.models import Incident, Severity
from org.models import User
from waivers.serializers import StrictSerializer

CONTAINED_HELP = (
    "Derived, not stored: the proposal's wedge stopped the rollout (ROLLED_BACK, or PAUSED) "
    "and affected_percentage is at most exposure_reached."
)


class IncidentSerializer(serializers.ModelSerializer[Incident]):
    severity = serializers.ChoiceField(choices=Severity.choices, read_only=True)
    affected_percentage = serializers.DecimalField(
        max_digits=5, decimal_places=2, coerce_to_string=False, read_only=True
    )
    reported_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    exposure_reached = serializers.FloatField(
        read_only=True, help_text="The exposure the proposal's wedge reached (0 to 100)."
    )
    wedge_state = serializers.CharField(source="proposal.rollout_wedge.wedge_state", read_only=True)
    contained = serializers.BooleanField(read_only=True, help_text=CONTAINED_HELP)

    class Meta:
        model = Incident
        fields = [
            "id",
            "proposal",
            "occurred_at",
            "severity",
            "affected_percentage",
            "summary",
            "reported_by",
            "created_at",
            "wedge_state",
            "exposure_reached",
            "contained",
        ]
        read_only_fields = fields


class IncidentInputSerializer(StrictSerializer):
    """Shape only: the rules (range, precision, time) are the service's, for every caller."""

    occurred_at = serializers.DateTimeField(help_text="When the incident started (ISO 8601).")
    severity = serializers.ChoiceField(choices=Severity.choices)
    affected_percentage = serializers.DecimalField(
        max_digits=None,
        decimal_places=None,
        help_text="0 to 100, at most two decimal places.",
    )
    summary = serializers.CharField(allow_blank=True, trim_whitespace=False)
