"""Emails that announce a committed change: sent after the commit, off the caller's thread.

A rollback decided inside a metrics request must not wait for a mail server,
nor fail because one is down: the message is rendered from what the change
committed, handed to one background thread when the transaction commits, and a
failure to send is logged. Rendering either happens inside the transaction
(``send_after_commit``) or, for the hot paths, just after it commits
(``compose_after_commit``): a message, its recipients' query included, then
costs the change's transaction nothing, and the row locks and the audit chain
it holds are released first. Links in emails are absolute (``absolute_url``):
a mail client has no page to be relative to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from config.threads import background
from org.models import User

log = logging.getLogger(__name__)

_THREAD = "wedge-mail"


def absolute_url(path: str) -> str:
    """``path`` on this site, for emails: ``WEDGE_SITE_URL`` + ``/proposals/3/``."""
    return settings.WEDGE_SITE_URL.rstrip("/") + path


def addresses_of(people: Iterable[User], *, leave_out: User | None = None) -> list[str]:
    """The addresses to write to: active people with an address, no service accounts,
    and not ``leave_out`` (the person who acted knows what they did)."""
    return sorted(
        {
            person.email
            for person in people
            if person.email
            and person.is_active
            and not person.is_service_account
            and (leave_out is None or person.pk != leave_out.pk)
        }
    )


def render_email(template: str, context: dict[str, object]) -> tuple[str, str]:
    """``(subject, body)`` from a plain-text template: the first line is the subject."""
    text = render_to_string(template, context).strip()
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip() + "\n"


def send_after_commit(subject: str, body: str, addresses: list[str]) -> None:
    """Send once the current transaction commits, on the background thread."""
    if addresses:
        compose_after_commit(lambda: (subject, body, addresses))


def compose_after_commit(compose: Callable[[], tuple[str, str, list[str]] | None]) -> None:
    """Once the current transaction commits, ``compose()`` on this thread and send what it
    returns (``(subject, body, addresses)``, or ``None`` for no email) on the background thread.

    ``compose`` may read the database: the change is committed when it runs.
    If it raises, the error is logged and the change stands.
    """

    def hand_over() -> None:
        message = compose()
        if message is not None and message[2]:
            background(_THREAD).submit(_send, *message)

    transaction.on_commit(hand_over, robust=True)


def drain(timeout: float = 30.0) -> None:
    """Wait until every email handed over so far has been sent (or failed)."""
    background(_THREAD).submit(lambda: None).result(timeout)


def _send(subject: str, body: str, addresses: list[str]) -> None:
    try:
        send_mail(subject, body, None, addresses)
    except Exception:
        # The change is committed already: a lost mail is logged, not raised.
        log.exception("Could not send the email %r to %s", subject, addresses)
