"""Who may do what. Checked on the server for every action, web and API alike.

Reading: the visibility table
=============================

Every page, fragment, API answer and export reads through the selectors
below, and each of them asks ``read_reach`` first; nothing is shown on a page
that the API would hide, nor the other way round. What a user cannot read is
answered "not found" (404), never "forbidden", so its existence is not told.

+-----------------------------------+----------+----------+------+----------+---------+
| object                            | engineer | operator | lead | reviewer | auditor |
+===================================+==========+==========+======+==========+=========+
| proposal, its wedge and stages,   | own      | all      | all  | all      | all     |
| snapshots, chart, desired state   |          |          |      |          |         |
+-----------------------------------+----------+----------+------+----------+---------+
| audit events                      | own      | all      | all  | all      | all     |
+-----------------------------------+----------+----------+------+----------+---------+
| waiver, with its rationale,       | own      | all      | all  | all      | all     |
| approvals, covered proposals and  |          |          |      |          |         |
| trail                             |          |          |      |          |         |
+-----------------------------------+----------+----------+------+----------+---------+
| incident                          | own      | all      | all  | all      | all     |
+-----------------------------------+----------+----------+------+----------+---------+

"all" is the reach of whoever holds ``org.view_all`` (``READ_REACH``; an
administrator holds every permission), "own" that of every other signed-in
user (engineers and the pipelines' service accounts), nothing for anonymous
callers. What "own" covers, object by object (``OWN``):

- proposal: the proposals the user authored (``wedges.selectors``).
- waiver: those the user requested, and those for or covering one of their
  proposals (``waivers.selectors``); its list of covered proposals names only
  the proposals the user may read.
- audit event: an event follows the object it is about: the events of a
  proposal are read by whoever reads the proposal, all of them; an event of a
  waiver with no proposal by whoever reads the waiver; an event about neither
  (sign-in, tokens) only by its actor (``audit.selectors``).
- incident: those recorded against a proposal the user may read
  (``governance.selectors``).

Section leads read everything although they act only in their own sections:
they also give the second (reviewer) approval to other sections' waivers, and
must read what they approve. Acting is not reading: who may start, pause,
report metrics or approve is decided by the functions further down and by the
services (403 for who may not), and every role that may act on an object
reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Protocol

from django.contrib.auth.models import AnonymousUser, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from org.models import Section, Subsystem, User
from org.roles import Role

AnyUser = User | AnonymousUser


class Reach(StrEnum):
    """How far a user's reading reaches over one kind of object."""

    ALL = "all"
    OWN = "own"
    NONE = "none"


class Readable(StrEnum):
    """The kinds of object the visibility table has a row for."""

    PROPOSAL = "proposal"
    AUDIT_EVENT = "audit event"
    WAIVER = "waiver"
    INCIDENT = "incident"


# The table's columns: one reach per role, the same for every kind of object.
READ_REACH: Final[Mapping[Role, Reach]] = MappingProxyType(
    {
        Role.ENGINEER: Reach.OWN,
        Role.OPERATOR: Reach.ALL,
        Role.SECTION_LEAD: Reach.ALL,
        Role.REVIEWER: Reach.ALL,
        Role.AUDITOR: Reach.ALL,
    }
)

# The table's rows: what "own" covers for each kind of object.
OWN: Final[Mapping[Readable, str]] = MappingProxyType(
    {
        Readable.PROPOSAL: "the proposals they authored",
        Readable.AUDIT_EVENT: "the events of the proposals and waivers they read; "
        "events about neither that they caused",
        Readable.WAIVER: "the waivers they requested, and those for or covering their proposals",
        Readable.INCIDENT: "the incidents of the proposals they read",
    }
)


def read_reach(user: AnyUser) -> Reach:
    """The user's column of the visibility table."""
    if not user.is_authenticated:
        return Reach.NONE
    return Reach.ALL if can_view_all(user) else Reach.OWN


class ChangeProposalLike(Protocol):
    """What access checks need of a proposal (org does not import wedges)."""

    author_id: int
    subsystem: Subsystem


def can_submit(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("org.act_as_engineer")


def can_view_all(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("org.view_all")


def holds(user: AnyUser, permission: str) -> bool:
    """Whether a role (or a direct grant) gives ``user`` the permission.

    Unlike ``has_perm``, being a superuser does not count: where the rule is
    that a person *in a role* does something (the approvals of four eyes),
    an administrator takes part only through a role like anyone else.
    """
    if not (user.is_authenticated and user.is_active):
        return False
    app_label, codename = permission.split(".", 1)
    return Permission.objects.filter(
        Q(group__user=user) | Q(user=user), content_type__app_label=app_label, codename=codename
    ).exists()


def can_review_waivers(user: AnyUser) -> bool:
    """May fill a waiver approval slot: section leads and reviewers, by their role."""
    return holds(user, "org.review_waivers")


def is_lead_of(user: AnyUser, section: Section) -> bool:
    if not user.is_authenticated:
        return False
    return section.leads.filter(pk=user.pk).exists()


def can_operate(user: AnyUser, subsystem: Subsystem) -> bool:
    """Operators everywhere; section leads in the sections they lead."""
    if not user.is_authenticated:
        return False
    if user.has_perm("org.operate_rollouts"):
        return True
    return user.has_perm("org.operate_section_rollouts") and is_lead_of(user, subsystem.section)


def operated_by(user: AnyUser, *, via: str = "") -> Q:
    """``can_operate`` as a filter: the rows whose subsystem ``user`` may operate.

    ``via`` is the lookup from the rows to their subsystem, ending in ``__``
    (``"proposal__subsystem__"`` for wedges); empty for subsystems themselves.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.has_perm("org.operate_rollouts"):
        return Q()
    if user.has_perm("org.operate_section_rollouts"):
        return Q(**{f"{via}section__leads": user.pk})
    return Q(pk__in=[])


def can_operate_anything(user: AnyUser) -> bool:
    return user.is_authenticated and (
        user.has_perm("org.operate_rollouts") or user.has_perm("org.operate_section_rollouts")
    )


def holding(permissions: QuerySet[Permission]) -> Q:
    """Users who hold one of ``permissions``, through a role or on their own.

    Two ``id IN (subquery)`` tests rather than joins through the user's groups
    and permissions: a join yields one row per way a user holds a right (so a
    DISTINCT), and its estimate grows with the product of the joined tables,
    enough to make PostgreSQL plan a 3-row answer as a large query.
    """
    through_role = User.groups.through.objects.filter(group__permissions__in=permissions)
    own = User.user_permissions.through.objects.filter(permission__in=permissions)
    return Q(pk__in=through_role.values("user_id")) | Q(pk__in=own.values("user_id"))


def operators_of(section_id: int) -> QuerySet[User]:
    """Who may operate the rollouts of section ``section_id``: operators, and its leads."""
    everywhere = Permission.objects.filter(
        content_type__app_label="org", codename="operate_rollouts"
    )
    in_section = Permission.objects.filter(
        content_type__app_label="org", codename="operate_section_rollouts"
    )
    leads = Section.leads.through.objects.filter(section_id=section_id).values("user_id")
    return (
        User.objects.filter(is_active=True)
        .filter(holding(everywhere) | (holding(in_section) & Q(pk__in=leads)))
        .order_by("username")
    )


def can_report_metrics(user: AnyUser, proposal: ChangeProposalLike) -> bool:
    """The proposal's author (an engineer or pipeline) or whoever may operate it."""
    if not user.is_authenticated:
        return False
    if proposal.author_id == user.pk and can_submit(user):
        return True
    return can_operate(user, proposal.subsystem)


class HasUser(Protocol):
    """A page's ``HttpRequest`` or an API call's DRF ``Request``."""

    @property
    def user(self) -> object: ...


def signed_in_user(request: HasUser) -> User:
    """The signed-in user of a page behind ``login_required``, or of an authenticated API call.

    The one place that narrows ``request.user`` to a ``User``; the views
    guard the sign-in first, so the refusal below is a last resort.
    """
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
