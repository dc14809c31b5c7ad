"""Canaries of deployers already in place, mapped to the proposals that gate them.

A Flagger ``Canary`` or an Argo ``Rollout`` in one cluster asks Wedge's gates
whether its next step may happen. The first call from a canary for a proposal
binds them; every later call updates what the proposal page shows (the
gate it called, what it was answered, the phase it reported). Several
canaries, one per cluster, may gate one proposal: the wedge then advances
only while every bound canary reports healthy, and one canary's failure rolls
the wedge back for all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models


class Tool(models.TextChoices):
    FLAGGER = "flagger", "Flagger"
    ARGO = "argo", "Argo Rollouts"


class Health(models.TextChoices):
    """What a canary last reported about itself (``silent`` is read off ``last_call_at``)."""

    HEALTHY = "healthy", "Healthy"
    FAILED = "failed", "Failed"
    SUCCEEDED = "succeeded", "Promoted"


class CanaryBinding(models.Model):
    proposal = models.ForeignKey(
        "wedges.ChangeProposal", on_delete=models.CASCADE, related_name="canaries"
    )
    tool = models.CharField(max_length=16, choices=Tool.choices)
    # Kubernetes names: a namespace is at most 63 characters, a name at most 253.
    cluster = models.CharField(max_length=100, blank=True)
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    bound_at = models.DateTimeField()
    last_call_at = models.DateTimeField()
    last_gate = models.CharField(max_length=32)
    last_status = models.PositiveSmallIntegerField(help_text="The HTTP status Wedge answered.")
    last_decision = models.CharField(max_length=16, blank=True)
    last_reason = models.CharField(max_length=500, blank=True)
    last_phase = models.CharField(max_length=32, blank=True)
    # Flagger's hash of the canary's tracked configuration: which revision spoke.
    checksum = models.CharField(max_length=64, blank=True)
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.HEALTHY)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)
    # The stage index (-1 for the implicit initial hold, n for promotion)
    # whose exposure this canary has been allowed to step up to: one traffic
    # step per stage (``gates.answers``). Empty before its first step.
    granted_stage = models.SmallIntegerField(null=True, blank=True)
    # Whether it has asked a gate (not only reported events): only a canary
    # that asks is expected to keep calling, so only it can fall silent.
    asks_gates = models.BooleanField(default=False)
    last_event_type = models.CharField(max_length=16, blank=True)
    last_event_message = models.CharField(max_length=500, blank=True)
    detached_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Detached by an operator: the wedge no longer waits for it.",
    )

    class Meta:
        ordering = ["proposal", "cluster", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal", "cluster", "namespace", "name"],
                name="canary_once_per_proposal",
            ),
        ]
        indexes = [
            # A call without a proposal id finds the proposal its canary is bound to.
            models.Index(fields=["namespace", "name", "cluster"], name="canary_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.label} -> proposal #{self.proposal_id}"

    @property
    def label(self) -> str:
        """``cluster: namespace/name``, or just ``namespace/name`` without a cluster."""
        canary = f"{self.namespace}/{self.name}"
        return f"{self.cluster}: {canary}" if self.cluster else canary

    @property
    def cluster_label(self) -> str:
        return self.cluster or "(unnamed cluster)"

    def is_silent(self, now: datetime, freshness: timedelta) -> bool:
        """Running but not heard from within ``freshness``: it may be gone."""
        return (
            self.asks_gates
            and self.health == Health.HEALTHY
            and now - self.last_call_at > freshness
        )
