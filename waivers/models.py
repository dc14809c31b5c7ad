"""Waivers: the policy's appeal process, with dual approval and a time limit.

The states, the approval slots and the cap on ``duration_days`` are defined in
``waivers.rules``; the models store them, and the database holds rows to them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from waivers.rules import MAX_WAIVER_DAYS, OPEN_STATES, REVOCABLE_STATES, ApprovalRole, WaiverState


class WaiverRequest(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """A request to lift the waivable rules for one proposal, or for a scope and period.

    Scope is either ``proposal`` (one proposal) or ``subsystem`` + ``change_type``
    (a standing waiver covering proposals submitted while it is active).
    """

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waiver_requests"
    )
    rationale = models.TextField()
    proposal = models.ForeignKey(
        "wedges.ChangeProposal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waiver_requests",
    )
    subsystem = models.ForeignKey("org.Subsystem", on_delete=models.PROTECT, related_name="waivers")
    change_type = models.CharField(max_length=32, blank=True)
    duration_days = models.PositiveSmallIntegerField()
    state = FSMField(
        max_length=24,
        choices=WaiverState.choices,
        default=WaiverState.REQUESTED,
        protected=True,
        db_index=True,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closing_reason = models.TextField(blank=True)
    covered_proposals = models.ManyToManyField(
        "wedges.ChangeProposal", through="WaiverCoverage", related_name="+", blank=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_days__gte=1, duration_days__lte=MAX_WAIVER_DAYS),
                name="waiver_duration_1_to_90_days",
            ),
            models.CheckConstraint(
                condition=models.Q(proposal__isnull=False) | ~models.Q(change_type=""),
                name="waiver_scope_proposal_or_change_type",
            ),
            # At most one open request per proposal, guaranteed by the database so
            # that requesting needs no lock on the proposal row (see services).
            models.UniqueConstraint(
                fields=["proposal"],
                condition=models.Q(
                    state__in=[WaiverState.REQUESTED, WaiverState.PARTIALLY_APPROVED]
                ),
                name="one_open_request_per_proposal",
            ),
        ]
        indexes = [models.Index(fields=["subsystem", "change_type", "state", "expires_at"])]

    def __str__(self) -> str:
        return f"waiver #{self.pk} ({self.state})"

    @property
    def is_standing(self) -> bool:
        return self.proposal_id is None

    def is_active_at(self, now: datetime) -> bool:
        """Approved and not yet expired at ``now`` (expiry by beat may lag)."""
        return (
            self.state == WaiverState.APPROVED
            and self.expires_at is not None
            and now < self.expires_at
        )

    # --- The state machine: transitions only change fields; services do the rest.
    @transition(field=state, source=WaiverState.REQUESTED, target=WaiverState.PARTIALLY_APPROVED)
    def record_first_approval(self) -> None:
        """One of the two approvals is in."""

    @transition(field=state, source=WaiverState.PARTIALLY_APPROVED, target=WaiverState.APPROVED)
    def approve(self, *, now: datetime, expires_at: datetime) -> None:
        self.approved_at = now
        self.expires_at = expires_at

    @transition(field=state, source=sorted(OPEN_STATES), target=WaiverState.REJECTED)
    def reject(self, *, now: datetime, by: Any, reason: str) -> None:
        self._close(now=now, by=by, reason=reason)

    @transition(field=state, source=WaiverState.APPROVED, target=WaiverState.EXPIRED)
    def expire(self, *, now: datetime) -> None:
        self.closed_at = now

    @transition(field=state, source=sorted(REVOCABLE_STATES), target=WaiverState.REVOKED)
    def revoke(self, *, now: datetime, by: Any, reason: str) -> None:
        self._close(now=now, by=by, reason=reason)

    def _close(self, *, now: datetime, by: Any, reason: str) -> None:
        self.closed_at = now
        self.closed_by = by
        self.closing_reason = reason


class WaiverApproval(models.Model):
    """One approver's vote; the unique constraint makes a second vote impossible."""

    waiver = models.ForeignKey(WaiverRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waiver_approvals"
    )
    role = models.CharField(max_length=16, choices=ApprovalRole.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["waiver", "approver"], name="one_vote_per_approver"),
            models.UniqueConstraint(fields=["waiver", "role"], name="one_approval_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.approver_id} approved waiver #{self.waiver_id} as {self.role}"


class WaiverCoverage(models.Model):
    """The waiver that lifted the waivable rules of a proposal: at most one per proposal.

    The row stays when its waiver closes, the record of what lifted the
    proposal's rules (a closed waiver no longer lets the proposal start); a
    waiver that covers the proposal later takes its place.
    """

    waiver = models.ForeignKey(WaiverRequest, on_delete=models.PROTECT, related_name="coverages")
    proposal = models.OneToOneField(
        "wedges.ChangeProposal", on_delete=models.CASCADE, related_name="waiver_coverage"
    )

    def __str__(self) -> str:
        return f"waiver #{self.waiver_id} covers proposal #{self.proposal_id}"
