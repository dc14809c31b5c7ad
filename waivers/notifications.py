"""Emails about waivers, queued to go out only once the change has committed.

Messages are plain-text templates in ``templates/waivers/email/``: the first
line is the subject, the rest the body. They are rendered inside the
service's transaction (so they describe exactly what was committed) and sent
by ``transaction.on_commit``; a mail server that is down is logged, never
turned into an error for a change that has already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse

from org import access
from org.mail import absolute_url, addresses_of, render_email, send_after_commit
from org.models import User
from waivers.models import WaiverRequest
from wedges.models import ChangeProposal, State

logger = logging.getLogger(__name__)


def possible_approvers(waiver: WaiverRequest) -> list[User]:
    """Everyone who holds ``org.review_waivers`` (leads and reviewers), bar the requester.

    Superusers are left out unless a role gives them the permission: an
    administrator is not part of the approval routine.
    """
    review = Permission.objects.filter(content_type__app_label="org", codename="review_waivers")
    return list(
        User.objects.filter(is_active=True)
        .filter(access.holding(review))
        .exclude(pk=waiver.requester_id)
        .order_by("username")
    )


def parties(waiver: WaiverRequest) -> list[User]:
    """The requester, the covered proposal's author and every approver so far."""
    people = [waiver.requester]
    if waiver.proposal is not None:
        people.append(waiver.proposal.author)
    people += [approval.approver for approval in waiver.approvals.all()]
    return people


def queue(
    template: str,
    *,
    waiver: WaiverRequest,
    recipients: Iterable[User],
    actor: User | None = None,
    **context: Any,
) -> None:
    """Render ``waivers/email/<template>.txt`` now and send it when the transaction commits.

    The actor is left out of the recipients (they know what they did), as are
    service accounts and people without an address.
    """
    addresses = sorted(
        {
            user.email
            for user in recipients
            if user.email
            and user.is_active
            and not user.is_service_account
            and (actor is None or user.pk != actor.pk)
        }
    )
    if not addresses:
        return
    text = render_to_string(
        f"waivers/email/{template}.txt",
        {
            "waiver": waiver,
            "actor": actor,
            "url": absolute_url(reverse("waivers:detail", args=[waiver.pk])),
            "site_url": settings.WEDGE_SITE_URL,
            "covered_links": [
                (pk, absolute_url(reverse("proposals:detail", args=[pk])))
                for pk in context.get("covered", ())
            ],
            **context,
        },
    ).strip()
    subject, _, body = text.partition("\n")
    message = (subject.strip(), body.strip() + "\n", addresses)
    transaction.on_commit(lambda: _send(*message))


def _send(subject: str, body: str, addresses: list[str]) -> None:
    try:
        send_mail(subject, body, None, addresses)
    except Exception:
        # The change is committed already: a lost mail is logged, not raised.
        logger.exception("Could not send the waiver email %r to %s", subject, addresses)


def proposal_startable(waiver: WaiverRequest, proposal: ChangeProposal) -> None:
    """Tell the operators of the proposal's section that a waiver now lets it start.

    Only for a proposal that has not started: the waiver has just made the
    start check pass, and an operator is who starts it.
    """
    if proposal.rollout_wedge.wedge_state != State.PENDING:
        return
    addresses = addresses_of(access.operators_of(proposal.subsystem.section_id))
    if not addresses:
        return
    subject, body = render_email(
        "waivers/email/startable.txt",
        {
            "waiver": waiver,
            "proposal": proposal,
            "url": absolute_url(reverse("proposals:detail", args=[proposal.pk])),
            "waiver_url": absolute_url(reverse("waivers:detail", args=[waiver.pk])),
        },
    )
    send_after_commit(subject, body, addresses)
