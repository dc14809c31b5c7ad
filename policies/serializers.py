"""The API's view of policy versions: the thresholds, what changed, who proposed and decided."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies import selectors
from policies.models import PolicyVersion
from wedges.policy.thresholds import FIELDS, LABELS


class ThresholdsSerializer(serializers.Serializer[Any]):
    critical_initial_cap = serializers.FloatField()
    min_stages = serializers.IntegerField()
    min_observation_window_hours = serializers.FloatField()
    first_stage_cap = serializers.FloatField()
    pause_after_windows = serializers.IntegerField()
    rollback_slo_seconds = serializers.IntegerField()
    max_waiver_days = serializers.IntegerField()


class ChangeSerializer(serializers.Serializer[Any]):
    """One threshold a version changes against the approved version before it."""

    field = serializers.CharField()
    # "label" is a Field attribute and "from" a keyword: declared in __init__ below.

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["label"] = serializers.CharField()
        self.fields["from"] = serializers.FloatField()
        self.fields["to"] = serializers.FloatField()


class PolicyVersionSerializer(serializers.ModelSerializer[PolicyVersion]):
    thresholds = serializers.SerializerMethodField()
    changes = serializers.SerializerMethodField()
    in_force = serializers.SerializerMethodField()
    # Version 1 was proposed by nobody; a version under review is decided by nobody yet.
    proposed_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decided_by: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = PolicyVersion
        fields = [
            "number",
            "status",
            "in_force",
            "thresholds",
            "changes",
            "rationale",
            "effective_at",
            "proposed_by",
            "proposed_at",
            "decided_by",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(ThresholdsSerializer)
    def get_thresholds(self, version: PolicyVersion) -> dict[str, Any]:
        return {name: getattr(version, name) for name in FIELDS}

    @extend_schema_field(ChangeSerializer(many=True))
    def get_changes(self, version: PolicyVersion) -> list[dict[str, Any]]:
        pool = self.context.get("versions")
        return [
            {"field": c.field, "label": LABELS[c.field][0], "from": c.before, "to": c.after}
            for c in selectors.changes_of(version, pool)
        ]

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_in_force(self, version: PolicyVersion) -> bool:
        current = self.context.get("in_force")
        return current is not None and current == version.number


class ProposeSerializer(serializers.Serializer[Any]):
    """The body of a proposal: the thresholds that change, a rationale, an effective time.

    Only ``rationale`` and ``effective_at`` are read here; every other member
    is a threshold, judged by the policy core (unknown names are
    ``unknown_key`` on their own path).
    """

    rationale = serializers.CharField(allow_blank=True, trim_whitespace=False)
    effective_at = serializers.DateTimeField()


class DecisionSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="")
