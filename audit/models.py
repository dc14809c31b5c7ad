"""The append-only, hash-chained audit log."""

from __future__ import annotations

from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models

from audit.codes import EventCode, describe
from audit.hashing import HASHED_FIELDS, compute_hash


class AuditEvent(models.Model):
    """One thing that happened, recorded once and never changed.

    Rows are written only by ``audit.services.record_event`` and chained:
    ``prev_hash`` is the previous row's ``hash`` (64 zeros for the first row)
    and ``hash`` covers every other column (``audit.hashing``), so an edit
    made behind the database's back shows up in ``manage.py verify_audit``.

    ``proposal_id`` and ``waiver_id`` are plain integers, deliberately not
    foreign keys: the log must outlive and never cascade from the rows it
    describes, and ``audit`` sits below ``wedges`` and ``waivers`` in the
    dependency order (they import it, never the reverse).
    """

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    code = models.CharField(max_length=16, choices=EventCode.choices, db_index=True)
    proposal_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    waiver_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    stage_id = models.CharField(max_length=100, blank=True)
    target_percentage = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    # PROTECT: a user who appears in the audit trail cannot be deleted
    # (deactivate them instead); the log never loses its actors.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_events",
    )
    actor_label = models.CharField(
        max_length=150,
        db_index=True,
        help_text='The actor\'s username when the event was recorded, or "system" / "anonymous".',
    )
    metrics = models.JSONField(
        default=dict, blank=True, help_text="Metric snapshot at the decision."
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Unique: two rows can never claim the same predecessor, so the chain
    # cannot fork even if a writer bypassed the chain lock.
    prev_hash = models.CharField(max_length=64, unique=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["proposal_id", "occurred_at"], name="audit_proposal_time"),
            models.Index(fields=["code", "occurred_at"], name="audit_code_time"),
        ]
        # PostgreSQL refuses changes to the table itself (django-pgtrigger's
        # append-only recipe). SQLite gets equivalent triggers from migration
        # 0002. TRUNCATE has its own statement-level trigger: pgtrigger's
        # Protect composer does not support that operation.
        triggers = [
            pgtrigger.Protect(
                name="append_only",
                operation=pgtrigger.Update | pgtrigger.Delete,
            ),
            pgtrigger.Trigger(
                name="protect_truncate",
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                operation=pgtrigger.Truncate,
                func=(
                    "RAISE EXCEPTION 'audit_auditevent is append-only: % refused', TG_OP"
                    " USING ERRCODE = 'insufficient_privilege';"
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.code} {describe(self.code)}"

    @property
    def meaning(self) -> str:
        return describe(self.code)

    def hashed_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in HASHED_FIELDS}

    def compute_hash(self) -> str:
        """The hash this row should carry, recomputed from its fields."""
        return compute_hash(self.hashed_values())
