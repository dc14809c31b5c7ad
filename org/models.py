"""The organisation: people, sections and the subsystems they own."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person, or a service account that a pipeline uses through the API."""

    is_service_account = models.BooleanField(
        default=False,
        help_text="A pipeline identity: signs in with an API token only.",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"

    @property
    def label(self) -> str:
        """How the audit trail and the pages name this user."""
        return self.get_full_name() or self.username


class Section(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    leads = models.ManyToManyField(User, related_name="led_sections", blank=True)

    class Meta:
        ordering = ["slug"]
        # The role permissions of the whole product live here, in one place;
        # org.roles bundles them into groups.
        permissions = [
            ("act_as_engineer", "Submit change proposals and report their metrics"),
            ("operate_rollouts", "Operate every rollout"),
            ("operate_section_rollouts", "Operate the rollouts of the sections one leads"),
            ("review_waivers", "Approve or reject waivers"),
            ("view_all", "Read every proposal, waiver and audit event"),
        ]

    def __str__(self) -> str:
        return self.name


class Subsystem(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="subsystems")
    is_critical = models.BooleanField(
        default=False, help_text="Critical subsystems cap the initial percentage at 10."
    )

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name
