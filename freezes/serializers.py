"""API representations of change freezes and the body that declares one."""

from __future__ import annotations

from rest_framework import serializers

from freezes.models import ChangeFreeze, FreezeStatus
from org.models import Subsystem, User
from waivers.serializers import StrictSerializer


class FreezeSerializer(serializers.ModelSerializer[ChangeFreeze]):
    subsystems: serializers.SlugRelatedField[Subsystem] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    declared_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    ended_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    until = serializers.DateTimeField(
        read_only=True, help_text="When it stops holding: ends_at, or ended_at if sooner."
    )
    status = serializers.SerializerMethodField(
        help_text="scheduled, in_force, ended_early, cancelled or over, at the time of the answer."
    )

    class Meta:
        model = ChangeFreeze
        fields = [
            "id",
            "reason",
            "starts_at",
            "ends_at",
            "until",
            "status",
            "whole_organisation",
            "subsystems",
            "declared_by",
            "declared_at",
            "ended_at",
            "ended_by",
            "end_reason",
        ]
        read_only_fields = fields

    def get_status(self, freeze: ChangeFreeze) -> str:
        now = self.context["now"]
        return str(FreezeStatus(freeze.status_at(now)).value)


class FreezeInputSerializer(StrictSerializer):
    """Shape only: the rules (window, scope, who) are the service's, for every caller."""

    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)
    starts_at = serializers.DateTimeField(help_text="ISO 8601 with a zone.")
    ends_at = serializers.DateTimeField(help_text="ISO 8601 with a zone; after starts_at.")
    whole_organisation = serializers.BooleanField(default=False)
    subsystems = serializers.ListField(
        child=serializers.CharField(), default=list, help_text="Subsystem slugs."
    )


class FreezeEndSerializer(StrictSerializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="")
