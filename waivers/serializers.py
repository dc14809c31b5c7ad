"""API representations of waivers and the bodies the waiver endpoints accept."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from org.models import Subsystem, User
from waivers import rules
from waivers.models import ApprovalRole, WaiverApproval, WaiverRequest
from waivers.models import WaiverState as WaiverStates
from wedges.models import ChangeProposal, ChangeType

STATE_HELP = (
    "REQUESTED: no approval yet. PARTIALLY_APPROVED: one of the two approvals is in. "
    "APPROVED: both approvals are in and the waiver is active until expires_at. "
    "REJECTED, EXPIRED, REVOKED: closed (see closing_reason)."
)


class ApprovalSerializer(serializers.ModelSerializer[WaiverApproval]):
    approver: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    role = serializers.ChoiceField(
        choices=ApprovalRole.choices,
        read_only=True,
        help_text="lead: a lead of the section owning the subsystem; "
        "reviewer: the second approval.",
    )

    class Meta:
        model = WaiverApproval
        fields = ["approver", "role", "comment", "created_at"]


class WaiverSerializer(serializers.ModelSerializer[WaiverRequest]):
    state = serializers.ChoiceField(
        choices=WaiverStates.choices, read_only=True, help_text=STATE_HELP
    )
    scope = serializers.SerializerMethodField(
        help_text='"proposal" (one proposal) or "standing" (a subsystem and change type).'
    )
    proposal: serializers.PrimaryKeyRelatedField[ChangeProposal] = (
        serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    )
    subsystem: serializers.SlugRelatedField[Subsystem] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    requester: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    closed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    approvals = ApprovalSerializer(many=True, read_only=True)
    covered_proposals: serializers.PrimaryKeyRelatedField[ChangeProposal] = (
        serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    )

    class Meta:
        model = WaiverRequest
        fields = [
            "id",
            "state",
            "scope",
            "proposal",
            "subsystem",
            "change_type",
            "rationale",
            "duration_days",
            "requester",
            "created_at",
            "approved_at",
            "expires_at",
            "approvals",
            "covered_proposals",
            "closed_at",
            "closed_by",
            "closing_reason",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=["proposal", "standing"]))
    def get_scope(self, waiver: WaiverRequest) -> str:
        return "standing" if waiver.is_standing else "proposal"


class StrictSerializer(serializers.Serializer[Any]):
    """Refuses unknown keys: a misspelt field must not be dropped silently."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        if unknown:
            raise serializers.ValidationError(
                {
                    key: [serializers.ErrorDetail(f"unknown field {key!r}", code="unknown_key")]
                    for key in unknown
                }
            )
        return super().to_internal_value(data)


class WaiverInputSerializer(StrictSerializer):
    """Shape only: the rules (range, blank, scope) are the service's, so every caller gets them."""

    rationale = serializers.CharField(allow_blank=True, trim_whitespace=False)
    duration_days = serializers.IntegerField(help_text=rules.DURATION_HELP)
    proposal = serializers.PrimaryKeyRelatedField(
        queryset=ChangeProposal.objects.select_related("subsystem"),
        required=False,
        allow_null=True,
        help_text="Scope: one proposal (its id). Or give subsystem and change_type instead.",
    )
    subsystem = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Subsystem.objects.all(),
        required=False,
        allow_null=True,
        help_text="Scope of a standing waiver: the subsystem's slug (with change_type).",
    )
    change_type = serializers.ChoiceField(
        choices=ChangeType.choices, required=False, allow_blank=True, allow_null=True
    )


class WaiverCommentSerializer(StrictSerializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class WaiverReasonSerializer(StrictSerializer):
    reason = serializers.CharField(allow_blank=True, help_text="Why; required.")
