"""The organisation: people, sections and the subsystems they own."""

from __future__ import annotations

import datetime as dt

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


class Scope(models.TextChoices):
    """What an API token may be used for (``org.scopes`` checks them).

    A scope narrows a token; it never adds to what the owner's roles allow,
    with one exception that ``org.scopes`` documents: the agent scopes of a
    service account's token reach every proposal of the token's subsystems.
    """

    PROPOSALS_WRITE = "proposals:write", "Submit and dry-run proposals"
    METRICS_WRITE = "metrics:write", "Report metric snapshots"
    DESIRED_STATE_READ = "desired-state:read", "Read the desired exposure"
    OPERATE = "operate", "Start, advance, pause, resume and roll back"
    AUDIT_READ = "audit:read", "Read the audit trail"
    ADMIN = "admin", "Everything the owner's roles allow"


class ApiToken(models.Model):
    """A named API key of one user, stored only as a hash.

    The key is ``wdg_`` and 43 random URL-safe characters (256 bits); its first
    ``KEY_PREFIX_LENGTH`` characters are kept in clear to find the row, the
    rest is compared by SHA-256 (a slow hash buys nothing for a random key).
    Keys issued before scopes existed (40 hex characters) keep working: they
    were migrated into ``admin`` tokens the same way.
    """

    KEY_PREFIX_LENGTH = 12

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    subsystems = models.ManyToManyField(
        Subsystem,
        blank=True,
        related_name="+",
        help_text="The subsystems the token may act on; none means all of them.",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    # Written at most once a minute (see config.api.auth), so polling agents
    # cost no write per request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When a use of the revoked or expired token was last audited: at most
    # once an hour, so a misbehaving agent cannot flood the audit trail.
    refused_audited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        constraints = [
            models.CheckConstraint(condition=~models.Q(scopes=[]), name="api_token_has_a_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner.username})"

    @property
    def display_prefix(self) -> str:
        """What pages show to tell tokens apart; too short to help a guesser."""
        return self.key_prefix[:8] + "…"

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.is_expired(now):
            return "expired"
        return "active"


class Heartbeat(models.Model):
    """When a periodic job last ran to the end, by name (``org.health``).

    Written by the tasks beat schedules, on the worker that ran them, so a
    fresh row proves beat, the broker and a worker of that queue are alive.
    """

    name = models.CharField(max_length=50, primary_key=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
