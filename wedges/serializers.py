"""API representations of proposals and wedges, in the policy's own field names."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from wedges.models import (
    ChangeProposal,
    ChangeType,
    IncrementPolicy,
    RolloutWedge,
    State,
    WedgeStage,
)
from wedges.policy import codes


class StageSerializer(serializers.ModelSerializer[WedgeStage]):
    success_criteria = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = WedgeStage
        fields = [
            "stage_id",
            "target_percentage",
            "duration_hours",
            "success_criteria",
            "rollback_trigger",
        ]


class RolloutWedgeSerializer(serializers.ModelSerializer[RolloutWedge]):
    wedge_stages = StageSerializer(source="stages", many=True, read_only=True)
    wedge_state = serializers.ChoiceField(choices=State.choices, read_only=True)
    current_stage_id = serializers.SerializerMethodField()

    class Meta:
        model = RolloutWedge
        fields = [
            "wedge_stages",
            "initial_percentage",
            "increment_policy",
            "max_blast_radius",
            "observation_window_hours",
            "wedge_state",
            "current_stage_id",
            "exposure_percentage",
            "stage_opened_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_current_stage_id(self, wedge: RolloutWedge) -> str | None:
        return wedge.current_stage_id


class ProposalSerializer(serializers.ModelSerializer[ChangeProposal]):
    subsystem: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    rollout_wedge = RolloutWedgeSerializer(read_only=True)
    waiver = serializers.SerializerMethodField()
    waiver_state = serializers.CharField(
        source="waiver_cover.state",
        read_only=True,
        allow_null=True,
        default=None,
        help_text="The covering waiver's state: it lifts the waivable rules only while APPROVED.",
    )
    waiver_expires_at = serializers.DateTimeField(
        source="waiver_cover.expires_at", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ChangeProposal
        fields = [
            "id",
            "title",
            "description",
            "change_type",
            "subsystem",
            "author",
            "external_reference",
            "created_at",
            "rollout_wedge",
            "waiver_required",
            "waivable_codes",
            "waiver",
            "waiver_state",
            "waiver_expires_at",
        ]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_waiver(self, proposal: ChangeProposal) -> int | None:
        cover = proposal.waiver_cover
        return cover.waiver_id if cover is not None else None


# --- Request bodies, for the OpenAPI document (validation is the policy engine's) ---


class StageInputSerializer(serializers.Serializer[Any]):
    stage_id = serializers.CharField()
    target_percentage = serializers.FloatField(min_value=0, max_value=100)
    duration_hours = serializers.FloatField()
    success_criteria = serializers.ListField(child=serializers.CharField(), min_length=1)
    rollback_trigger = serializers.CharField()


class WedgeInputSerializer(serializers.Serializer[Any]):
    wedge_stages = StageInputSerializer(many=True)
    initial_percentage = serializers.FloatField()
    increment_policy = serializers.ChoiceField(choices=IncrementPolicy.choices)
    max_blast_radius = serializers.FloatField()
    # Documents the policy's threshold; the policy engine enforces it.
    observation_window_hours = serializers.FloatField(min_value=codes.MIN_OBSERVATION_WINDOW_HOURS)
    wedge_state = serializers.ChoiceField(choices=[State.PENDING], required=False)


class ProposalInputSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    change_type = serializers.ChoiceField(choices=ChangeType.choices)
    subsystem = serializers.SlugField(help_text="The subsystem's slug.")
    external_reference = serializers.CharField(required=False, allow_blank=True)
    rollout_wedge = WedgeInputSerializer()


class IssueSerializer(serializers.Serializer[Any]):
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    message = serializers.CharField()
    rule = serializers.IntegerField(allow_null=True)
    waivable = serializers.BooleanField()


class DryRunSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    # Named as the API contract says, shadowing Serializer.errors on this
    # schema-only serializer (it never validates input).
    errors = IssueSerializer(many=True)  # type: ignore[assignment]
    warnings = IssueSerializer(many=True)
    total_duration_hours = serializers.FloatField(allow_null=True)
    waiver_required = serializers.BooleanField()


class ReasonSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Why (kept in the audit trail).",
    )


class MetricsInputSerializer(serializers.Serializer[Any]):
    metrics = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Metric values: numbers, or strings with a unit such as "180ms" or "99.9%". '
        "The reserved name exposure_percentage is the exposure the deployer actually has.",
    )


class CriterionSerializer(serializers.Serializer[Any]):
    """One criterion evaluated against the snapshot, with the metric values it read."""

    expression = serializers.CharField()
    met = serializers.BooleanField()
    values = serializers.DictField(source="values_dict", child=serializers.JSONField())


class DecisionSerializer(serializers.Serializer[Any]):
    """What the rollout engine decided on the snapshot, and why."""

    action = serializers.CharField(source="action.value")
    rule = serializers.CharField()
    reason = serializers.CharField()
    eligible = serializers.BooleanField()
    eligible_at = serializers.DateTimeField(allow_null=True)
    criteria = CriterionSerializer(many=True)


class DesiredStateSerializer(serializers.Serializer[Any]):
    wedge_state = serializers.ChoiceField(choices=State.choices)
    stage_id = serializers.CharField(allow_null=True)
    exposure_percentage = serializers.FloatField()
    max_blast_radius = serializers.FloatField()


class SnapshotOutcomeSerializer(DesiredStateSerializer):
    acted = serializers.BooleanField(help_text="Whether this snapshot moved the wedge.")
    decision = DecisionSerializer()


class LatestSnapshotSerializer(serializers.Serializer[Any]):
    received_at = serializers.DateTimeField()
    metrics = serializers.DictField(source="values", child=serializers.JSONField())


class RolloutStatusSerializer(serializers.Serializer[Any]):
    """A running rollout as its engine sees it now (``wedges.status.RolloutStatus``)."""

    wedge_state = serializers.ChoiceField(choices=State.choices, source="wedge.wedge_state")
    stage_id = serializers.CharField(allow_null=True)
    stage_number = serializers.IntegerField(
        help_text="0 for the implicit initial hold, 1..stage_count for the declared stages."
    )
    stage_count = serializers.IntegerField()
    exposure_percentage = serializers.FloatField(source="wedge.exposure_percentage")
    max_blast_radius = serializers.FloatField(source="wedge.max_blast_radius")
    stage_opened_at = serializers.DateTimeField(source="wedge.stage_opened_at", allow_null=True)
    observation_window_hours = serializers.FloatField(source="wedge.observation_window_hours")
    window_ends_at = serializers.DateTimeField(
        source="wedge.window_ends_at",
        allow_null=True,
        help_text="When the open stage's observation window ends.",
    )
    advance_at = serializers.DateTimeField(
        source="next_advance_at",
        allow_null=True,
        help_text="The earliest moment the open stage may advance (window and planned "
        "duration); null when not running or never.",
    )
    eligible = serializers.BooleanField()
    awaiting_approval = serializers.BooleanField()
    waiting_for = serializers.CharField(
        help_text="Why the rollout is not moving now, if it is not."
    )
    criteria = CriterionSerializer(many=True)
    latest_snapshot = LatestSnapshotSerializer(source="wedge.latest_snapshot", allow_null=True)
    as_of = serializers.SerializerMethodField(
        help_text="The server's clock when this was computed."
    )

    @extend_schema_field(serializers.DateTimeField())
    def get_as_of(self, status: Any) -> str:
        return serializers.DateTimeField().to_representation(self.context["as_of"])
