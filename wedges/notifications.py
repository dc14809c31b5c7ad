"""Emails about rollouts: the author and the section's operators hear of every pause
(RWG-002) and rollback (RWG-003), whoever or whatever caused it.

Rendered from the audit event the transition wrote (so the email says exactly
what was recorded, in the same words as the proposal page) once its
transaction commits, and sent off the request's thread (``org.mail``): a
rollback's transaction, which holds the wedge's row lock and the audit chain,
does not wait for the recipients' query or the template. The person who acted
is left out: they know.
"""

from __future__ import annotations

from django.urls import reverse

from audit.codes import EventCode
from audit.models import AuditEvent
from org import access, humane, mail
from org.models import User
from wedges import narrative
from wedges.models import RolloutWedge

_TEMPLATES = {
    EventCode.PAUSED.value: "wedges/email/paused.txt",
    EventCode.ROLLED_BACK.value: "wedges/email/rolled_back.txt",
}


def rollout_stopped(wedge: RolloutWedge, event: AuditEvent, *, actor: User | None) -> None:
    """Queue the email of an RWG-002 or RWG-003 (other events send none), composed on commit."""
    template = _TEMPLATES.get(event.code)
    if template is not None:
        mail.compose_after_commit(lambda: _compose(template, wedge, event, actor))


def _compose(
    template: str, wedge: RolloutWedge, event: AuditEvent, actor: User | None
) -> tuple[str, str, list[str]] | None:
    proposal = wedge.proposal
    # The author and the section's operators, in one query.
    recipients = access.operators_of(proposal.subsystem.section_id) | User.objects.filter(
        pk=proposal.author_id
    )
    addresses = mail.addresses_of(recipients, leave_out=actor)
    if not addresses:
        return None
    if event.code == EventCode.ROLLED_BACK:
        cause = narrative.rollback_cause(event, wedge.max_blast_radius)
    else:
        cause = narrative.pause_cause(
            event, wedge.observation_window_hours, wedge.thresholds.pause_after_windows
        )
    subject, body = mail.render_email(
        template,
        {
            "proposal": proposal,
            "event": event,
            "cause": cause,
            "by": narrative.by_whom(event),
            "operator_reason": "" if narrative.acted_by_system(event) else event.reason,
            "at": humane.stamp(event.occurred_at),
            "exposure_before": (event.data or {}).get("exposure_before"),
            "url": mail.absolute_url(reverse("proposals:detail", args=[proposal.pk])),
        },
    )
    return subject, body, addresses
