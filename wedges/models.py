"""Change proposals, their rollout wedges and stages.

A submitted wedge is frozen: its plan never changes (a different plan is a new
proposal). Only the engine's own fields move, and only through the state
machine and the services in ``wedges.services``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models.functions import Coalesce
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition

from policies.selectors import thresholds_by_id
from wedges import hooks
from wedges.policy.codes import Increment, WedgeState
from wedges.policy.engine import (
    Snapshot,
    StageView,
    WedgeView,
    current_stage_id,
    due_at,
    pause_at,
    window_ends_at,
)
from wedges.policy.envelope import CHANGE_TYPE_LABELS
from wedges.policy.envelope import ChangeType as Change
from wedges.policy.thresholds import FLOOR, Thresholds


class ChangeType(models.TextChoices):
    # Values and labels are the policy core's (wedges.policy.envelope), which the CLI
    # checks offline and whose messages name the labels.
    CONNECTOR_DEPLOYMENT = (
        Change.CONNECTOR_DEPLOYMENT.value,
        CHANGE_TYPE_LABELS[Change.CONNECTOR_DEPLOYMENT],
    )
    CONTROL_PLANE = Change.CONTROL_PLANE.value, CHANGE_TYPE_LABELS[Change.CONTROL_PLANE]
    POLICY_UPDATE = Change.POLICY_UPDATE.value, CHANGE_TYPE_LABELS[Change.POLICY_UPDATE]
    SECURITY_PATCH = Change.SECURITY_PATCH.value, CHANGE_TYPE_LABELS[Change.SECURITY_PATCH]


class IncrementPolicy(models.TextChoices):
    LINEAR = Increment.LINEAR.value, "Linear"
    EXPONENTIAL = Increment.EXPONENTIAL.value, "Exponential"
    MANUAL = Increment.MANUAL.value, "Manual (operator approves each advance)"


class State(models.TextChoices):
    PENDING = WedgeState.PENDING.value, "Pending"
    ACTIVE = WedgeState.ACTIVE.value, "Active"
    PAUSED = WedgeState.PAUSED.value, "Paused"
    ROLLED_BACK = WedgeState.ROLLED_BACK.value, "Rolled back"
    COMPLETE = WedgeState.COMPLETE.value, "Complete"


class FrozenError(Exception):
    """Raised when code tries to change a submitted plan."""


class ChangeProposal(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    change_type = models.CharField(max_length=32, choices=ChangeType.choices)
    subsystem = models.ForeignKey(
        "org.Subsystem", on_delete=models.PROTECT, related_name="proposals"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals"
    )
    external_reference = models.CharField(
        max_length=500,
        blank=True,
        help_text="Pipeline run, commit or ticket this change comes from.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    waiver_required = models.BooleanField(
        default=False,
        help_text="Breaks only waivable rules: cannot start until a waiver covers it.",
    )
    waivable_codes = models.JSONField(
        default=list, blank=True, help_text="The rule codes a waiver has to lift."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["change_type", "-created_at"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def waiver_cover(self) -> hooks.WaiverCover | None:
        """The waiver that lifted the waivable rules this proposal breaks, if one did.

        The waivers app keeps that record and answers through ``wedges.hooks``.
        """
        return hooks.waiver_cover(self)


class RolloutWedge(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """The policy's six fields plus the engine's position in the ladder.

    ``current_stage_index`` is -1 while the wedge holds at the implicit
    ``initial`` stage, then 0..n-1 for the declared stages.
    """

    # Fields the engine moves; everything else is the frozen plan.
    ENGINE_FIELDS = frozenset(
        {
            "wedge_state",
            "current_stage_index",
            "exposure_percentage",
            "stage_opened_at",
            "window_ends_at",
            "pause_at",
            "due_at",
            "due_snapshot_id",
            "started_at",
            "finished_at",
            "updated_at",
            "latest_snapshot",
            "awaiting_approval_since",
        }
    )

    proposal = models.OneToOneField(
        ChangeProposal, on_delete=models.CASCADE, related_name="rollout_wedge"
    )
    initial_percentage = models.FloatField()
    increment_policy = models.CharField(max_length=16, choices=IncrementPolicy.choices)
    max_blast_radius = models.FloatField()
    observation_window_hours = models.FloatField()
    document = models.JSONField(help_text="The rollout_wedge exactly as submitted.")
    # The policy version the wedge was validated against at submission. The
    # wedge runs under it to the end (its pause moment, its checks), whatever
    # version comes into force meanwhile. ``None`` only where no version row
    # exists: then it is version 1, the policy as written.
    policy_version = models.ForeignKey(
        "policies.PolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="wedges",
    )

    wedge_state = FSMField(
        max_length=16, choices=State.choices, default=State.PENDING, protected=True, db_index=True
    )
    current_stage_index = models.SmallIntegerField(null=True, blank=True)
    exposure_percentage = models.FloatField(default=0.0)
    stage_opened_at = models.DateTimeField(null=True, blank=True)
    # When the open stage's observation window ends. Before it nothing
    # time-based can happen (advancing needs the window, the automatic pause
    # three), so the beat tick reads no wedge before it, not even for new evidence.
    window_ends_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # When the open stage pauses if it has not become eligible (3 x the window).
    pause_at = models.DateTimeField(null=True, blank=True)
    # When the beat tick must next look at this wedge: the first moment the
    # engine could move it on time alone, given the evidence it had then
    # (``due_snapshot_id``, 0 for none). ``None``: only new evidence can.
    # The tick reads a wedge once this has passed, or once ``latest_snapshot``
    # is newer than the evidence it was computed from (``wedges.services``).
    due_at = models.DateTimeField(null=True, blank=True)
    due_snapshot_id = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Denormalised so the beat tick reads every running wedge with its latest
    # evidence in one query.
    latest_snapshot = models.ForeignKey(
        "MetricSnapshot", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When the open stage of a manual wedge became eligible and its WDG-106
    # went out; cleared when a stage opens, so it is announced once a stage.
    awaiting_approval_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The two halves of the beat tick's query, each only over ACTIVE
            # wedges: those due by time, and those with evidence newer than
            # their ``due_at`` knows of.
            models.Index(
                fields=["due_at"],
                condition=models.Q(wedge_state=State.ACTIVE),
                name="wedge_tick_due",
            ),
            models.Index(
                fields=["window_ends_at"],
                condition=models.Q(wedge_state=State.ACTIVE)
                & ~models.Q(due_snapshot_id=Coalesce(models.F("latest_snapshot"), 0)),
                name="wedge_tick_new_evidence",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(exposure_percentage__gte=0)
                & models.Q(exposure_percentage__lte=models.F("max_blast_radius")),
                name="wedge_exposure_within_blast_radius",
                violation_error_message="Exposure never exceeds max_blast_radius (INV-RWG-BLAST).",
            ),
        ]

    def __str__(self) -> str:
        return f"wedge of proposal #{self.proposal_id} ({self.wedge_state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None or not set(update_fields) <= self.ENGINE_FIELDS:
                raise FrozenError(
                    "A submitted rollout wedge is frozen; save engine fields with update_fields."
                )
        super().save(*args, **kwargs)

    # --- The state machine: transitions only change fields; services do the rest.
    @transition(field=wedge_state, source=State.PENDING, target=State.ACTIVE)
    def start(self, *, now: Any, stage_index: int, exposure: float) -> None:
        self.started_at = now
        self._open_stage(now=now, stage_index=stage_index, exposure=exposure)

    @transition(field=wedge_state, source=State.ACTIVE, target=State.ACTIVE)
    def advance(self, *, now: Any, stage_index: int, exposure: float) -> None:
        self._open_stage(now=now, stage_index=stage_index, exposure=exposure)

    @transition(field=wedge_state, source=State.ACTIVE, target=State.COMPLETE)
    def complete(self, *, now: Any) -> None:
        self.finished_at = now

    @transition(field=wedge_state, source=State.ACTIVE, target=State.PAUSED)
    def pause(self) -> None:
        """Exposure holds where it is while paused."""

    @transition(field=wedge_state, source=State.PAUSED, target=State.ACTIVE)
    def resume(self, *, now: Any) -> None:
        self._open_window(now)  # a fresh observation window

    @transition(field=wedge_state, source=[State.ACTIVE, State.PAUSED], target=State.ROLLED_BACK)
    def rollback(self, *, now: Any) -> None:
        self.exposure_percentage = 0.0
        self.finished_at = now

    def _open_stage(self, *, now: Any, stage_index: int, exposure: float) -> None:
        self.current_stage_index = stage_index
        self.exposure_percentage = exposure
        self._open_window(now)

    def _open_window(self, now: datetime) -> None:
        self.stage_opened_at = now
        self.awaiting_approval_since = None
        # None for a window that ends past the calendar (a plan stored before
        # its hours were bounded): it never ends, so the tick never reads it.
        self.window_ends_at = window_ends_at(now, self.observation_window_hours)
        self.pause_at = pause_at(
            now, self.observation_window_hours, self.thresholds.pause_after_windows
        )

    def reschedule(self, now: datetime, *, freshness: timedelta) -> None:
        """Store when the beat tick must next look at this wedge (``engine.due_at``).

        Called by the services after every transition, on the locked wedge
        with its stages and latest snapshot loaded.
        """
        snapshot = self.latest_snapshot
        self.due_at = due_at(
            self.policy_view(),
            snapshot.policy_view() if snapshot is not None else None,
            now,
            freshness=freshness,
        )
        self.due_snapshot_id = self.latest_snapshot_id or 0

    # --- What the policy engine sees.
    def policy_view(self) -> WedgeView:
        """This wedge as the policy engine sees it: the one way a stored wedge becomes a view.

        The plan is read from the stage rows (the prefetch cache when loaded,
        ordered by position), never from ``document``, which keeps the
        submission as it was sent. A wedge that has not started is viewed at
        stage 0 (``current_stage_index`` is ``None``).
        """
        return WedgeView(
            state=self.wedge_state,
            stages=self._stage_views(),
            stage_index=0 if self.current_stage_index is None else self.current_stage_index,
            stage_opened_at=self.stage_opened_at,
            initial_percentage=self.initial_percentage,
            max_blast_radius=self.max_blast_radius,
            observation_window_hours=self.observation_window_hours,
            increment_policy=self.increment_policy,
            thresholds=self.thresholds,
        )

    def _stage_views(self) -> tuple[StageView, ...]:
        """The stages as the engine sees them: prefetched rows if loaded, else the plan
        this process keeps for the wedge (``stage_plan``)."""
        prefetched = getattr(self, "_prefetched_objects_cache", {}).get("stages")
        if prefetched is not None:
            return tuple(stage.policy_view() for stage in prefetched)
        plan: tuple[StageView, ...] | None = self.__dict__.get("_plan")
        if plan is None:
            if "document" in self.get_deferred_fields():
                plan = tuple(stage.policy_view() for stage in self.stages.order_by("position"))
            else:
                plan = stage_plan(self.pk, self.document)
            self.__dict__["_plan"] = plan
        return plan

    def with_plan_of(self, earlier: RolloutWedge) -> RolloutWedge:
        """This wedge, its stages taken from ``earlier``, the same wedge read before.

        Stages are frozen, so a wedge read again under its lock needs no
        second read of them (the beat tick locks the wedges it read to move).
        """
        if earlier.pk != self.pk:
            raise ValueError(f"wedge {earlier.pk} is not wedge {self.pk}")
        self.__dict__["_plan"] = earlier._stage_views()
        return self

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds of the policy version this wedge runs under.

        Read from the joined version when loaded, else from the per-process cache
        of versions (``policies.selectors.thresholds_by_id``): no query per wedge.
        """
        if self.policy_version_id is None:
            return FLOOR
        if "policy_version" in self._state.fields_cache:  # select_related
            version = self.policy_version
            return version.thresholds if version is not None else FLOOR
        return thresholds_by_id(self.policy_version_id)

    @property
    def current_stage_id(self) -> str | None:
        """The open stage's id (``initial`` for the implicit hold); ``None`` before start."""
        if self.current_stage_index is None:
            return None
        annotated: str | None = self.__dict__.get("open_stage_id")  # selectors.desired_states
        if annotated is not None:
            return annotated
        return current_stage_id(self.policy_view())


class WedgeStage(models.Model):
    wedge = models.ForeignKey(RolloutWedge, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    stage_id = models.CharField(max_length=100)
    target_percentage = models.FloatField()
    duration_hours = models.FloatField()
    success_criteria = models.JSONField()
    rollback_trigger = models.TextField()

    class Meta:
        ordering = ["wedge", "position"]
        constraints = [
            models.UniqueConstraint(fields=["wedge", "position"], name="stage_position_unique"),
            models.UniqueConstraint(fields=["wedge", "stage_id"], name="stage_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} ({self.target_percentage:g}%)"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise FrozenError("Stages of a submitted wedge are frozen.")
        super().save(*args, **kwargs)

    def policy_view(self) -> StageView:
        return StageView(
            stage_id=self.stage_id,
            target_percentage=self.target_percentage,
            duration_hours=self.duration_hours,
            success_criteria=tuple(self.success_criteria),
            rollback_trigger=self.rollback_trigger,
        )


# A wedge's stages are frozen once stored (``WedgeStage.save`` refuses a change)
# and made from its document's ``wedge_stages`` alone (``proposal_submit``), so
# each process keeps the engine's view of them, keyed by the wedge's id and a
# digest of those stages in its document: a snapshot's locked read needs no
# second query for the plan. The digest makes an id used again (a restored
# database, a rolled-back transaction on SQLite, a test database) with other
# stages a miss, never another wedge's plan. Only a plan read in a transaction
# that committed is kept, and at most _PLANS_KEPT of them, the oldest forgotten
# first: a fleet of 10,000 running wedges, a few KB each.
_PLANS: dict[tuple[int, bytes], tuple[StageView, ...]] = {}
_PLANS_KEPT = 10_000
_plans_lock = threading.Lock()


def stage_plan(wedge_id: int, document: Any) -> tuple[StageView, ...]:
    """The stages of wedge ``wedge_id`` (whose document is ``document``) in order,
    as the engine sees them."""
    stages = document.get("wedge_stages") if isinstance(document, dict) else None
    canonical = json.dumps(stages, sort_keys=True, separators=(",", ":"), default=str)
    key = (wedge_id, hashlib.blake2b(canonical.encode(), digest_size=16).digest())
    known = _PLANS.get(key)
    if known is not None:
        return known
    plan = tuple(
        stage.policy_view()
        for stage in WedgeStage.objects.filter(wedge_id=wedge_id).order_by("position")
    )
    if plan:
        transaction.on_commit(lambda: _keep_plan(key, plan))
    return plan


def _keep_plan(key: tuple[int, bytes], plan: tuple[StageView, ...]) -> None:
    with _plans_lock:
        if len(_PLANS) >= _PLANS_KEPT:
            del _PLANS[next(iter(_PLANS))]
        _PLANS[key] = plan


class IdempotencyKey(models.Model):
    """Remembers a submission so a retried POST returns the first proposal."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    proposal = models.ForeignKey(ChangeProposal, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> proposal #{self.proposal_id}"


class MetricSnapshot(models.Model):
    """Named metric values reported for a running wedge, as accepted by the server.

    ``values`` is what this snapshot brought. ``evidence`` is what the engine
    decides on after it arrived: the latest value of each metric received
    during the stage, from every source (``wedges.policy.engine.merge_evidence``),
    each entry ``{"value", "received_at"}`` plus where it came from (a metric
    provider's name and query) when it did not come by push. Kept on the row
    so the next snapshot reads the evidence so far from this one row.
    """

    wedge = models.ForeignKey(RolloutWedge, on_delete=models.CASCADE, related_name="snapshots")
    received_at = models.DateTimeField()
    values = models.JSONField()
    evidence = models.JSONField(default=dict, blank=True)
    stage_index = models.SmallIntegerField(null=True, help_text="The stage open on arrival.")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who pushed it; empty when Wedge polled a metric provider itself.",
    )

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["wedge", "received_at"])]

    def __str__(self) -> str:
        return f"snapshot of wedge {self.wedge_id} at {self.received_at:%Y-%m-%d %H:%M:%S}"

    def policy_view(self) -> Snapshot:
        """The evidence as the engine sees it (a row from before evidence: its own values)."""
        if not self.evidence:
            return Snapshot(values=self.values, received_at=self.received_at)
        return Snapshot(
            values={name: entry.get("value") for name, entry in self.evidence.items()},
            received_at=self.received_at,
            received={
                name: datetime.fromisoformat(entry["received_at"])
                for name, entry in self.evidence.items()
            },
        )

    def evidence_metrics(self) -> dict[str, Any]:
        """The evidence as the audit trail records it: ``name: value`` for a pushed value,
        ``name: {"value", ...where it came from}`` for one a provider answered."""
        if not self.evidence:
            return dict(self.values)
        shown: dict[str, Any] = {}
        for name, entry in self.evidence.items():
            source = {k: v for k, v in entry.items() if k not in ("value", "received_at")}
            shown[name] = {"value": entry.get("value"), **source} if source else entry.get("value")
        return shown


class EvidenceSource(models.TextChoices):
    """What a rollback acted on, and so which moment its clock starts from."""

    SNAPSHOT_PUSHED = "snapshot_pushed", "a pushed metric snapshot"
    SNAPSHOT_POLLED = "snapshot_polled", "a metric provider's reading"
    ALERT = "alert", "an Alertmanager alert"
    CANARY = "canary", "a deployer's canary report"
    OPERATOR = "operator", "an operator's decision"


class ToldVia(models.TextChoices):
    WEBHOOK = "webhook", "a webhook delivery"
    DESIRED_STATE = "desired_state", "a read of the desired state"


class RollbackTiming(models.Model):
    """The rollback SLO as measured (INV-RWG-ROLLBACK), one row per rollback (RWG-003).

    Three moments: the evidence arrived (``evidence_at``: the snapshot's
    receipt, the provider's read, the alert's or the canary report's arrival,
    or the operator's request), the rollback was written (``committed_at``, the
    last step of its transaction) and the deployer was told (``told_at``: the
    first successful webhook delivery of the event or the first
    ``desired-state/`` read after the commit, whichever came first). Written
    with the rollback (``wedges.services.rollout``); ``told_at`` is set once by
    a conditional UPDATE (``wedges.services.timing``).
    """

    wedge = models.OneToOneField(
        RolloutWedge, on_delete=models.CASCADE, related_name="rollback_timing"
    )
    # The RWG-003 event and the outbox row that announced it (plain ids: the
    # audit trail and the outbox are append-only logs this row only points at).
    audit_event_id = models.BigIntegerField(unique=True)
    outbox_event_id = models.BigIntegerField(null=True, blank=True, unique=True)
    evidence_source = models.CharField(max_length=16, choices=EvidenceSource.choices)
    evidence_at = models.DateTimeField()
    committed_at = models.DateTimeField(db_index=True)
    told_at = models.DateTimeField(null=True, blank=True)
    told_via = models.CharField(max_length=16, choices=ToldVia.choices, blank=True)

    class Meta:
        ordering = ["committed_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(committed_at__gte=models.F("evidence_at")),
                name="rollback_timing_commit_after_evidence",
            ),
            models.CheckConstraint(
                condition=models.Q(told_at__isnull=True, told_via="")
                | models.Q(told_at__isnull=False) & ~models.Q(told_via=""),
                name="rollback_timing_told_with_how",
            ),
        ]
        indexes = [
            # desired-state/ asks "is this wedge's rollback still untold?" on every read.
            models.Index(
                fields=["wedge"],
                condition=models.Q(told_at__isnull=True),
                name="rollback_timing_untold",
            ),
        ]

    def __str__(self) -> str:
        return f"rollback timing of wedge {self.wedge_id}"

    @property
    def decided(self) -> timedelta:
        """Evidence to the rollback written."""
        return self.committed_at - self.evidence_at

    @property
    def told(self) -> timedelta | None:
        """Evidence to the deployer told; ``None`` while nobody was told."""
        return None if self.told_at is None else self.told_at - self.evidence_at

    @property
    def slo(self) -> timedelta:
        """The bound on evidence to told of the policy version the wedge ran under."""
        return timedelta(seconds=self.wedge.thresholds.rollback_slo_seconds)

    @property
    def within_slo(self) -> bool:
        """Whether the deployer was told within the SLO, its last second included."""
        told = self.told
        return told is not None and told <= self.slo

    @property
    def told_after_commit(self) -> timedelta | None:
        return None if self.told_at is None else self.told_at - self.committed_at
