from __future__ import annotations

from typing import Any

from rest_framework import serializers

from audit.exports import EXPORT_FIELDS, event_record
from audit.hashing import HASHED_FIELDS
from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    """Read-only; the same record as one row of the JSON export."""

    meaning = serializers.CharField(read_only=True, help_text="What the code means.")
    occurred_at = serializers.DateTimeField(
        read_only=True, help_text="ISO 8601, UTC, with microseconds (as hashed)."
    )
    metrics = serializers.DictField(read_only=True, help_text="Metric snapshot at the decision.")
    target_percentage = serializers.DecimalField(
        max_digits=6, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = AuditEvent
        fields = list(EXPORT_FIELDS)
        read_only_fields = fields

    def to_representation(self, instance: AuditEvent) -> dict[str, Any]:
        # One representation for the API and the exports, built without
        # DRF's per-field machinery.
        values = {name: getattr(instance, name) for name in (*HASHED_FIELDS, "hash")}
        return event_record(values)
