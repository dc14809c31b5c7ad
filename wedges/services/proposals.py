"""Submitting a proposal: one transaction storing it with its frozen wedge, audited."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from audit.codes import EventCode
from audit.services import record_event
from org.models import User
from wedges.errors import IdempotencyConflict, SubmissionRejected
from wedges.models import ChangeProposal, IdempotencyKey, RolloutWedge, WedgeStage
from wedges.signals import proposal_submitted
from wedges.submission import SubmissionCheck


@dataclass(frozen=True)
class Submitted:
    proposal: ChangeProposal
    replayed: bool  # True when an Idempotency-Key returned an earlier proposal


def request_fingerprint(data: Any) -> str:
    """A stable hash of a JSON body's value: independent of key order, spacing and of how
    a number is written (``1``, ``1.0`` and ``1e0`` are the same number)."""
    canonical = json.dumps(
        _by_value(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _by_value(data: Any) -> Any:
    """``data`` with every integral float as an ``int``, so equal numbers serialise alike."""
    if isinstance(data, float) and data.is_integer():
        return int(data)
    if isinstance(data, dict):
        return {key: _by_value(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_by_value(value) for value in data]
    return data


def proposal_submit(
    *, check: SubmissionCheck, author: User, idempotency_key: str | None = None, raw: Any = None
) -> Submitted:
    """Store a checked submission with its frozen wedge and stages.

    ``check`` comes from ``wedges.submission.check_submission``. A submission
    that breaks only waivable rules is stored with ``waiver_required``.
    """
    if not check.storable:
        raise SubmissionRejected(check.errors)
    fingerprint = request_fingerprint(raw) if idempotency_key else ""
    if idempotency_key:
        earlier = _replay(author, idempotency_key, fingerprint)
        if earlier is not None:
            return Submitted(earlier, replayed=True)
    try:
        with transaction.atomic():
            proposal = _create(check, author)
            if idempotency_key:
                IdempotencyKey.objects.create(
                    user=author, key=idempotency_key, request_hash=fingerprint, proposal=proposal
                )
    except IntegrityError:
        # A concurrent request with the same key won the race; answer as it did.
        if idempotency_key:
            earlier = _replay(author, idempotency_key, fingerprint)
            if earlier is not None:
                return Submitted(earlier, replayed=True)
        raise
    return Submitted(proposal, replayed=False)


def _replay(author: User, key: str, fingerprint: str) -> ChangeProposal | None:
    entry = IdempotencyKey.objects.select_related("proposal").filter(user=author, key=key).first()
    if entry is None:
        return None
    if entry.request_hash != fingerprint:
        raise IdempotencyConflict()
    return entry.proposal


def _create(check: SubmissionCheck, author: User) -> ChangeProposal:
    data = check.cleaned
    wedge_doc: dict[str, Any] = data["rollout_wedge"]
    proposal = ChangeProposal.objects.create(
        title=data["title"],
        description=data.get("description", ""),
        change_type=data["change_type"],
        subsystem=data["subsystem"],
        author=author,
        external_reference=data.get("external_reference", ""),
        waiver_required=check.waiver_required,
        waivable_codes=check.waivable_codes,
    )
    wedge = RolloutWedge.objects.create(
        proposal=proposal,
        initial_percentage=wedge_doc["initial_percentage"],
        increment_policy=wedge_doc["increment_policy"],
        max_blast_radius=wedge_doc["max_blast_radius"],
        observation_window_hours=wedge_doc["observation_window_hours"],
        document=wedge_doc,
        policy_version=check.policy_version,
    )
    WedgeStage.objects.bulk_create(
        WedgeStage(
            wedge=wedge,
            position=position,
            stage_id=stage["stage_id"],
            target_percentage=stage["target_percentage"],
            duration_hours=stage["duration_hours"],
            success_criteria=list(stage["success_criteria"]),
            rollback_trigger=stage["rollback_trigger"],
        )
        for position, stage in enumerate(wedge_doc["wedge_stages"])
    )
    record_event(
        code=EventCode.PROPOSAL_SUBMITTED,
        actor=author,
        proposal_id=proposal.pk,
        reason=proposal.title,
        data={
            "subsystem": proposal.subsystem.slug,
            "change_type": proposal.change_type,
            "stages": len(wedge_doc["wedge_stages"]),
            "waiver_required": check.waiver_required,
            "waivable_codes": check.waivable_codes,
            "external_reference": proposal.external_reference,
            "policy_version": check.policy_version.number if check.policy_version else 1,
        },
    )
    # Inside the transaction, so a standing waiver applied by a receiver
    # commits or rolls back with the proposal.
    proposal_submitted.send(sender=ChangeProposal, proposal=proposal)
    return proposal
