"""The demo's policy change under review: bob proposes, and it waits for frank (or another lead)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from org.models import User
from policies import services
from policies.models import PolicyVersion, Status

RATIONALE = (
    "Two incidents this quarter reached 25 % of the fleet before their first stage ended: "
    "cap the first stage at 20 % and pause a stuck stage after two windows."
)


def seed_demo_policy_change() -> list[str]:
    """One change under review, proposed by bob (idempotent: none if one is already open)."""
    bob = User.objects.filter(username="bob").first()
    if bob is None or PolicyVersion.objects.filter(status=Status.PROPOSED).exists():
        return []
    midnight = (timezone.now() + timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    version = services.policy_version_propose(
        actor=bob,
        values={"first_stage_cap": 20, "pause_after_windows": 2},
        rationale=RATIONALE,
        effective_at=midnight,
    )
    return [f"policy version {version.number} under review"]
