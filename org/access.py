"""Who may do what. Checked on the server for every action, web and API alike."""

from __future__ import annotations

from typing import Protocol

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from org.models import Section, Subsystem, User

AnyUser = User | AnonymousUser


class ChangeProposalLike(Protocol):
    """What access checks need of a proposal (org does not import wedges)."""

    author_id: int
    subsystem: Subsystem


def can_submit(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("org.act_as_engineer")


def can_view_all(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("org.view_all")


def can_review_waivers(user: AnyUser) -> bool:
    return user.is_authenticated and user.has_perm("org.review_waivers")


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


def can_operate_anything(user: AnyUser) -> bool:
    return user.is_authenticated and (
        user.has_perm("org.operate_rollouts") or user.has_perm("org.operate_section_rollouts")
    )


def can_report_metrics(user: AnyUser, proposal: ChangeProposalLike) -> bool:
    """The proposal's author (an engineer or pipeline) or whoever may operate it."""
    if not user.is_authenticated:
        return False
    if proposal.author_id == user.pk and can_submit(user):
        return True
    return can_operate(user, proposal.subsystem)


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in user of a page behind ``login_required``."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("Sign in first.")
    return user
