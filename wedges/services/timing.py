"""The rollback SLO as measured (INV-RWG-ROLLBACK): when a rollback's deployer was told.

``rollback_timing_record`` writes the row in the rollback's own transaction
(``wedges.services.rollout``). ``rollback_told`` sets ``told_at`` once, by a
conditional UPDATE: the first of a successful webhook delivery of the RWG-003
event (``told_by_webhook``, a listener the webhooks app calls) and a
``desired-state/`` read after the commit (the API asks only while the row is
untold, see ``wedges.selectors.desired_states``).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.db.models import DateTimeField, F, Q, Value
from django.db.models.functions import Greatest

from audit.codes import EventCode
from audit.models import AuditEvent
from webhooks.models import Delivery, OutboxEvent
from wedges.models import EvidenceSource, RollbackTiming, RolloutWedge, ToldVia


def rollback_timing_record(
    *,
    wedge: RolloutWedge,
    event: AuditEvent,
    outbox: OutboxEvent | None,
    source: EvidenceSource,
    evidence_at: datetime,
    now: datetime,
    started: float,
) -> RollbackTiming:
    """The timing row of a rollback, in its transaction, as its last write.

    ``now`` is the operation's time (the event's); ``started`` the monotonic
    clock when the operation began, so ``committed_at`` is ``now`` plus the
    time the operation took, also for a caller that back-dates ``now``.
    """
    committed_at = now + timedelta(seconds=max(0.0, time.monotonic() - started))
    return RollbackTiming.objects.create(
        wedge=wedge,
        audit_event_id=event.pk,
        outbox_event_id=outbox.pk if outbox is not None else None,
        evidence_source=source,
        evidence_at=min(evidence_at, committed_at),
        committed_at=committed_at,
    )


def rollback_told(*, wedge_id: int, via: ToldVia, now: datetime) -> bool:
    """Record that the deployer learnt of the wedge's rollback at ``now`` (once).

    Returns whether the row changed (see ``_told``).
    """
    return _told(Q(wedge_id=wedge_id), via=via, now=now)


def told_by_webhook(delivery_id: str, event_code: str, now: datetime) -> None:
    """Webhooks listener: a delivery succeeded; if it announced a rollback, its deployer knows.

    Called in the delivery's transaction for every successful delivery; only
    RWG-003 deliveries touch the database.
    """
    if event_code != EventCode.ROLLED_BACK:
        return
    announced = Delivery.objects.filter(pk=delivery_id).values("event_id")
    _told(Q(outbox_event_id__in=announced), via=ToldVia.WEBHOOK, now=now)


def _told(which: Q, *, via: ToldVia, now: datetime) -> bool:
    """One conditional UPDATE: an untold row, or one told later than ``now`` (two paths
    racing: the earlier wins). A moment before the commit (two machines' clocks) counts
    as the commit."""
    moment = Greatest(Value(now, output_field=DateTimeField()), F("committed_at"))
    return (
        RollbackTiming.objects.filter(which)
        .filter(Q(told_at__isnull=True) | Q(told_at__gt=moment))
        .update(told_at=moment, told_via=via)
        > 0
    )
