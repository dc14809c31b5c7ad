"""API representations of incidents and the body that records one."""

from __future__ import annotations

from typing import Any

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
            "source",
            "external_id",
            "title",
            "occurred_at",
            "resolved_at",
            "severity",
            "affected_percentage",
            "summary",
            "service",
            "link",
            "reported_by",
            "created_at",
            "updated_at",
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


class IncidentUpsertSerializer(StrictSerializer):
    """An incident as an incident tool reports it (PagerDuty, Opsgenie, incident.io).

    Shape only: severities, times, ranges and the proposal are the service's to
    judge (``governance.services.incident_upsert``), for the API and the CSV alike.
    """

    external_id = serializers.CharField(max_length=200, help_text="The tool's incident id.")
    title = serializers.CharField(max_length=300)
    severity = serializers.CharField(
        max_length=20, help_text="SEV1 to SEV4, P1 to P5 (P5 is SEV4), or critical/high/medium/low."
    )
    started_at = serializers.DateTimeField(help_text="When the incident started (ISO 8601).")
    resolved_at = serializers.DateTimeField(required=False, allow_null=True)
    affected_percentage = serializers.DecimalField(
        max_digits=None, decimal_places=None, help_text="0 to 100, at most two decimal places."
    )
    subsystem = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="The service or subsystem hit (slug or name). Without a proposal, the "
        "incident is linked to the proposal rolling out on it when the incident started.",
    )
    proposal = serializers.IntegerField(required=False, allow_null=True)
    link = serializers.CharField(required=False, allow_blank=True, max_length=500)
    summary = serializers.CharField(required=False, allow_blank=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "source" is a Field attribute of DRF's own: declared here, not on the class.
        fields = super().get_fields()
        fields["source"] = serializers.CharField(
            required=False,
            max_length=40,
            help_text='The tool, e.g. "pagerduty" (default "api"). With external_id, what '
            "identifies the incident: sending it again updates it.",
        )
        return fields
