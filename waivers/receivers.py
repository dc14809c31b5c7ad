"""Waivers listening to the other apps (connected in ``WaiversConfig.ready``).

- A standing waiver covers a proposal at its submission.
- The audit trail learns who reads the events of a waiver.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from audit.selectors import Subject, register_readable
from waivers.selectors import readable_waiver_ids, waiver_ids_in_subsystems
from waivers.services import apply_standing_waiver
from wedges.models import ChangeProposal
from wedges.signals import proposal_submitted


@receiver(proposal_submitted, sender=ChangeProposal, dispatch_uid="waivers.cover_at_submission")
def cover_at_submission(sender: Any, proposal: ChangeProposal, **kwargs: Any) -> None:
    """Sent inside the submission's transaction, so the cover commits with the proposal."""
    apply_standing_waiver(proposal=proposal, now=timezone.now())


# The audit trail cannot import waivers (dependencies point the other way).
register_readable(Subject.WAIVER, readable_waiver_ids, in_subsystems=waiver_ids_in_subsystems)
