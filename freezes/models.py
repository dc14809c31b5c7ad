"""Change freezes: a window in which no wedge in scope starts or advances."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from org.models import Subsystem


class FreezeStatus(models.TextChoices):
    """Where a freeze is in its life at a given moment (derived, never stored)."""

    SCHEDULED = "scheduled", "Scheduled"
    IN_FORCE = "in_force", "In force"
    ENDED_EARLY = "ended_early", "Ended early"
    CANCELLED = "cancelled", "Cancelled"
    OVER = "over", "Over"


class ChangeFreeze(models.Model):
    """A window (``starts_at`` to ``ends_at``, or ``ended_at`` if sooner) with a scope.

    The scope is the whole organisation, or ``subsystems``. Ending a freeze
    before it starts cancels it; ending it while in force ends it early. The
    row is never deleted: the governance report counts past freezes.
    """

    reason = models.CharField(max_length=500)
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField(db_index=True)
    whole_organisation = models.BooleanField(default=False)
    subsystems = models.ManyToManyField(Subsystem, blank=True, related_name="freezes")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    declared_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    end_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="freeze_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"Freeze #{self.pk}: {self.reason}"

    @property
    def until(self) -> datetime:
        """When the freeze stops holding: its end, or when it was ended, if sooner."""
        if self.ended_at is not None and self.ended_at < self.ends_at:
            return max(self.ended_at, self.starts_at)
        return self.ends_at

    def is_in_force_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.until

    def status_at(self, now: datetime) -> FreezeStatus:
        if self.ended_at is not None and self.ended_at <= self.starts_at:
            return FreezeStatus.CANCELLED
        if now < self.starts_at:
            return FreezeStatus.SCHEDULED
        if now < self.until:
            return FreezeStatus.IN_FORCE
        if self.ended_at is not None and self.ended_at < self.ends_at:
            return FreezeStatus.ENDED_EARLY
        return FreezeStatus.OVER

    def scope_label(self) -> str:
        """The scope in words, for pages and messages (reads ``subsystems``: prefetch it)."""
        if self.whole_organisation:
            return "the whole organisation"
        names = sorted(subsystem.name for subsystem in self.subsystems.all())
        return ", ".join(names) or "no subsystem"


def in_force(now: datetime) -> Q:
    """The freezes in force at ``now``, as a filter."""
    ended = Q(ended_at__isnull=False) & Q(ended_at__lte=now)
    return Q(starts_at__lte=now, ends_at__gt=now) & ~ended
