"""The demo organisation that `make run` seeds (`manage.py seed_demo`)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from org.models import Section, Subsystem, User
from org.roles import Role, sync_roles

DEMO_PASSWORD = "wedge-demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role | None
    description: str
    leads: tuple[str, ...] = ()
    service_account: bool = False
    superuser: bool = False


SECTIONS = (("platform", "Platform"), ("security", "Security"))
SUBSYSTEMS = (
    ("connector-runtime", "Connector runtime", "platform", False),
    ("control-plane", "Control plane", "platform", True),
)
USERS = (
    DemoUser("alice", Role.ENGINEER, "engineer"),
    DemoUser("bob", Role.SECTION_LEAD, "platform section lead", leads=("platform",)),
    DemoUser("frank", Role.SECTION_LEAD, "security section lead", leads=("security",)),
    DemoUser("carol", Role.REVIEWER, "reviewer"),
    DemoUser("dave", Role.OPERATOR, "operator"),
    DemoUser("erin", Role.AUDITOR, "auditor"),
    DemoUser("pipeline", Role.ENGINEER, "service account (API token only)", service_account=True),
    DemoUser("admin", None, "administrator (Django admin)", superuser=True),
)


@transaction.atomic
def seed_demo() -> list[str]:
    """Create or repair the demo organisation; returns what it changed."""
    changes: list[str] = []
    groups = sync_roles()
    sections = {}
    for slug, name in SECTIONS:
        section, created = Section.objects.update_or_create(slug=slug, defaults={"name": name})
        sections[slug] = section
        if created:
            changes.append(f"section {slug}")
    for slug, name, section_slug, critical in SUBSYSTEMS:
        _, created = Subsystem.objects.update_or_create(
            slug=slug,
            defaults={"name": name, "section": sections[section_slug], "is_critical": critical},
        )
        if created:
            changes.append(f"subsystem {slug}")
    for spec in USERS:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username, email=f"{spec.username}@example.com")
            if spec.service_account:
                user.set_unusable_password()
            else:
                user.set_password(DEMO_PASSWORD)
            changes.append(f"user {spec.username}")
        user.is_service_account = spec.service_account
        user.is_superuser = user.is_staff = spec.superuser
        user.save()
        if spec.role is not None:
            user.groups.add(groups[spec.role])
        for section_slug in spec.leads:
            sections[section_slug].leads.add(user)
    return changes
