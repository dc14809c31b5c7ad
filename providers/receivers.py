"""Metric providers listening to wedges (connected in ``ProvidersConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from providers.services import polled_wedge_create
from wedges.models import ChangeProposal
from wedges.signals import proposal_submitted


@receiver(proposal_submitted, sender=ChangeProposal, dispatch_uid="providers.poll_at_submission")
def poll_at_submission(sender: Any, proposal: ChangeProposal, **kwargs: Any) -> None:
    """Sent inside the submission's transaction: the poll state commits with the proposal."""
    polled_wedge_create(proposal=proposal)
