"""Waivers listening to the proposals: a standing waiver covers a proposal at submission."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver
from django.utils import timezone

from waivers.services import apply_standing_waiver
from wedges.models import ChangeProposal
from wedges.signals import proposal_submitted


@receiver(proposal_submitted, sender=ChangeProposal, dispatch_uid="waivers.cover_at_submission")
def cover_at_submission(sender: Any, proposal: ChangeProposal, **kwargs: Any) -> None:
    """Sent inside the submission's transaction, so the cover commits with the proposal."""
    apply_standing_waiver(proposal=proposal, now=timezone.now())
