"""Reads of the audit trail that the pages, the API and the exports share.

An event follows the object it is about (the visibility table in
``org.access``): whoever may read a proposal reads all its events; an event
of a waiver that names no proposal is read by whoever may read the waiver;
an event about neither (sign-in, tokens) by its actor only. Holders of
``org.view_all`` read every event.

Proposals and waivers live in apps that import ``audit``, never the reverse,
so those apps tell the audit trail who reads them: each registers, in its
``AppConfig.ready``, a function giving the ids of the objects a user may
read (``register_readable``). A read of the trail without both is a
configuration error, raised, never quietly narrowed or widened.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from org import access
from org.access import AnyUser, Reach


class Subject(StrEnum):
    """What an audit event can be about besides its actor: a column of the event."""

    PROPOSAL = "proposal_id"
    WAIVER = "waiver_id"


ReadableIds = Callable[[AnyUser], "QuerySet[Any]"]
IdsInSubsystems = Callable[[frozenset[int]], "QuerySet[Any]"]

# Filled by the apps that own the subjects; see the module docstring.
READABLE: dict[Subject, ReadableIds] = {}
IN_SUBSYSTEMS: dict[Subject, IdsInSubsystems] = {}


def register_readable(
    subject: Subject, readable_ids: ReadableIds, *, in_subsystems: IdsInSubsystems
) -> None:
    """Declare who reads ``subject``: ``readable_ids(user)`` is a query of the ids they may read.

    ``in_subsystems(ids)`` is a query of the ids of the ``subject`` rows that
    belong to those subsystems: what an API token limited to them reads.
    """
    READABLE[subject] = readable_ids
    IN_SUBSYSTEMS[subject] = in_subsystems


def _readable(subject: Subject) -> ReadableIds:
    try:
        return READABLE[subject]
    except KeyError:
        raise ImproperlyConfigured(
            f"No app has registered who may read the {subject.name.lower()}s that audit "
            "events name (audit.selectors.register_readable); the audit trail cannot decide "
            "who reads their events."
        ) from None


def visible_events(user: AnyUser) -> QuerySet[AuditEvent]:
    """The events ``user`` may read, newest first."""
    proposals, waivers = _readable(Subject.PROPOSAL), _readable(Subject.WAIVER)
    events = AuditEvent.objects.order_by("-id")
    reach = access.read_reach(user)
    if reach is Reach.ALL:
        return events
    if reach is Reach.NONE:
        return events.none()
    about_neither = Q(proposal_id__isnull=True, waiver_id__isnull=True, actor_id=user.pk)
    return events.filter(
        Q(proposal_id__in=proposals(user))
        | Q(proposal_id__isnull=True, waiver_id__in=waivers(user))
        | about_neither
    )


def events_in_subsystems(
    events: QuerySet[AuditEvent], subsystem_ids: frozenset[int] | None
) -> QuerySet[AuditEvent]:
    """The ``events`` about the proposals and waivers of those subsystems (``None``: all).

    What an API token limited to subsystems reads of the trail: events about
    neither a proposal nor a waiver (sign-ins, tokens) belong to no subsystem.
    """
    if subsystem_ids is None:
        return events
    proposals, waivers = IN_SUBSYSTEMS[Subject.PROPOSAL], IN_SUBSYSTEMS[Subject.WAIVER]
    return events.filter(
        Q(proposal_id__in=proposals(subsystem_ids))
        | Q(proposal_id__isnull=True, waiver_id__in=waivers(subsystem_ids))
    )
