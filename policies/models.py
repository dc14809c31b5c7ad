"""Versions of the policy's thresholds, and the review each change goes through.

Version 1 is the policy as written (``wedges.policy.thresholds.FLOOR``),
created by a migration. A section lead proposes a later version with a
rationale and an effective time; another section lead approves it (or
rejects it), or the proposer withdraws it. The version in force at a moment
is the approved one with the highest number whose ``effective_at`` has come
(``policies.selectors.in_force``). Values never change once proposed: a
different idea is a new proposal. Written only by ``policies.services``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from wedges.policy.thresholds import FIELDS, Thresholds


class Status(models.TextChoices):
    PROPOSED = "proposed", "Under review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


class PolicyVersion(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    number = models.PositiveIntegerField(unique=True)
    # The thresholds (``wedges.policy.thresholds.Thresholds``), one column each.
    critical_initial_cap = models.FloatField(
        help_text="The most a critical subsystem's initial exposure may be, in %."
    )
    min_stages = models.PositiveSmallIntegerField()
    min_observation_window_hours = models.FloatField()
    first_stage_cap = models.FloatField(help_text="The most the first stage may expose, in %.")
    pause_after_windows = models.PositiveSmallIntegerField(
        help_text="A stage that is not eligible after this many observation windows pauses."
    )
    rollback_slo_seconds = models.PositiveIntegerField(
        help_text="How soon a rollback must reach the deployers."
    )
    max_waiver_days = models.PositiveSmallIntegerField()

    status = FSMField(
        max_length=16, choices=Status.choices, default=Status.PROPOSED, protected=True
    )
    rationale = models.TextField()
    effective_at = models.DateTimeField(db_index=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="proposed_policy_versions",
        null=True,  # version 1: the policy as written, proposed by nobody
        blank=True,
    )
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="decided_policy_versions",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            # Four eyes, held by the database as well as by the services.
            # (A withdrawal is the proposer's own decision.)
            models.CheckConstraint(
                condition=models.Q(status__in=[Status.PROPOSED, Status.WITHDRAWN])
                | models.Q(proposed_by__isnull=True)
                | ~models.Q(decided_by=models.F("proposed_by")),
                name="policy_version_not_decided_by_proposer",
                violation_error_message="The proposer of a policy version cannot decide on it.",
            ),
            models.CheckConstraint(
                condition=models.Q(status=Status.PROPOSED) | models.Q(decided_at__isnull=False),
                name="policy_version_decided_has_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["effective_at"],
                condition=models.Q(status=Status.APPROVED),
                name="policy_version_in_force",
            )
        ]

    def __str__(self) -> str:
        return f"policy version {self.number}"

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(**{name: getattr(self, name) for name in FIELDS})

    @staticmethod
    def values_of(thresholds: Thresholds) -> dict[str, Any]:
        return thresholds.to_dict()

    # --- The state machine: transitions only change fields; services do the rest.
    @transition(field=status, source=Status.PROPOSED, target=Status.APPROVED)
    def approve(self, *, by: Any, now: Any, reason: str = "") -> None:
        self._decide(by, now, reason)

    @transition(field=status, source=Status.PROPOSED, target=Status.REJECTED)
    def reject(self, *, by: Any, now: Any, reason: str) -> None:
        self._decide(by, now, reason)

    @transition(field=status, source=Status.PROPOSED, target=Status.WITHDRAWN)
    def withdraw(self, *, by: Any, now: Any, reason: str = "") -> None:
        self._decide(by, now, reason)

    def _decide(self, by: Any, now: Any, reason: str) -> None:
        self.decided_by = by
        self.decided_at = now
        self.decision_reason = reason
