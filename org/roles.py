"""Roles are groups with permissions; this module is where they are defined.

A section lead is a user in the ``section lead`` group *and* listed among a
section's leads: their operator rights and lead approvals apply to the
subsystems of those sections only (see ``org.access``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import Group, Permission


class Role(StrEnum):
    ENGINEER = "engineer"
    OPERATOR = "operator"
    SECTION_LEAD = "section lead"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"


@dataclass(frozen=True)
class RoleSpec:
    role: Role
    description: str
    permissions: tuple[str, ...]  # "app_label.codename"


# Permissions are declared on the models of each app (Meta.permissions);
# the roles only bundle them.
ROLE_SPECS: tuple[RoleSpec, ...] = (
    RoleSpec(
        Role.ENGINEER,
        "Submits change proposals and reports metrics for their own.",
        ("org.act_as_engineer",),
    ),
    RoleSpec(
        Role.OPERATOR,
        "Starts, advances, pauses, resumes and rolls back rollouts.",
        ("org.act_as_engineer", "org.operate_rollouts", "org.view_all"),
    ),
    RoleSpec(
        Role.SECTION_LEAD,
        "Operator rights in their sections and the lead approval of waivers.",
        (
            "org.act_as_engineer",
            "org.operate_section_rollouts",
            "org.review_waivers",
            "org.view_all",
        ),
    ),
    RoleSpec(
        Role.REVIEWER,
        "Gives the second approval of waivers.",
        ("org.review_waivers", "org.view_all"),
    ),
    RoleSpec(
        Role.AUDITOR,
        "Reads everything, changes nothing.",
        ("org.view_all",),
    ),
)


def sync_roles() -> dict[Role, Group]:
    """Create or update the role groups so their permissions match ROLE_SPECS."""
    groups: dict[Role, Group] = {}
    for spec in ROLE_SPECS:
        group, _ = Group.objects.get_or_create(name=spec.role.value)
        wanted = []
        for dotted in spec.permissions:
            app_label, codename = dotted.split(".", 1)
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        groups[spec.role] = group
    return groups
