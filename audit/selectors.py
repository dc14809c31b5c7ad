"""Reads of the audit trail that the page, the API and the exports share."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, Final

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.module_loading import import_string

from audit.models import AuditEvent
from org.access import AnyUser, can_view_all
from org.models import User

logger = logging.getLogger(__name__)

# A function(user) -> QuerySet of the ids of the proposals the user authored.
# It lives with the proposals (in `wedges`), which import `audit` — never the
# reverse — so it is found by name, lazily, rather than imported here.
OWN_PROPOSALS_SETTING: Final = "AUDIT_OWN_PROPOSALS_QUERY"
DEFAULT_OWN_PROPOSALS_QUERY: Final = "wedges.selectors.proposal_ids_authored_by"

OwnProposalsQuery = Callable[[User], "QuerySet[Any]"]


@functools.cache
def _resolve(dotted_path: str) -> OwnProposalsQuery | None:
    try:
        query: OwnProposalsQuery = import_string(dotted_path)
    except ImportError:
        # Until `wedges` provides it (or if it breaks), engineers see only the
        # events they caused themselves: narrower, never wider, than intended.
        logger.warning(
            "%s (%s) cannot be imported; engineers see only their own actions in the audit trail.",
            OWN_PROPOSALS_SETTING,
            dotted_path,
        )
        return None
    return query


def own_proposals_query() -> OwnProposalsQuery | None:
    """The configured authored-proposals query, or ``None`` when it is unavailable."""
    return _resolve(getattr(settings, OWN_PROPOSALS_SETTING, DEFAULT_OWN_PROPOSALS_QUERY))


def visible_events(user: AnyUser) -> QuerySet[AuditEvent]:
    """The events ``user`` may read, newest first.

    Holders of ``org.view_all`` (operators, section leads, reviewers,
    auditors) read every event. Everyone else signed in reads the events of
    the proposals they authored and the events they caused themselves.
    """
    events = AuditEvent.objects.order_by("-id")
    if not user.is_authenticated:
        return events.none()
    if can_view_all(user):
        return events
    assert isinstance(user, User)
    own = Q(actor=user)
    query = own_proposals_query()
    if query is not None:
        own |= Q(proposal_id__in=query(user))
    return events.filter(own)
