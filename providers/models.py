"""Metric providers, the poll state of each wedge that has metric queries, and alert receipts."""

from __future__ import annotations

from typing import Any

from django.db import models

from providers.kinds import KIND_NAMES


class AuthType(models.TextChoices):
    NONE = "none", "None"
    BEARER = "bearer", "Bearer token"
    BASIC = "basic", "Basic auth (user name and password)"


class MetricProvider(models.Model):
    """A metric source a wedge's ``metric_queries`` name, configured by an admin.

    The credentials are stored to be sent, so they are stored as they are; no
    page, API answer or log shows them.
    """

    name = models.SlugField(
        max_length=50,
        unique=True,
        help_text='What a query names as its "provider", e.g. prometheus.',
    )
    kind = models.CharField(
        max_length=20, choices=[(kind, kind.title()) for kind in KIND_NAMES], default="prometheus"
    )
    base_url = models.CharField(
        max_length=500, help_text="e.g. http://prometheus.internal:9090 (no user or password)."
    )
    auth_type = models.CharField(max_length=10, choices=AuthType.choices, default=AuthType.NONE)
    bearer_token = models.CharField(max_length=2000, blank=True)
    username = models.CharField(max_length=200, blank=True)
    password = models.CharField(max_length=500, blank=True)
    timeout_seconds = models.FloatField(
        default=5.0, help_text="How long one query may take (connect, then answer), in seconds."
    )
    max_concurrency = models.PositiveSmallIntegerField(
        default=8, help_text="Queries sent to this provider at once, at most."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PolledWedge(models.Model):
    """A wedge whose plan has metric queries: what to ask, and how the last answers went.

    Created with the proposal. ``queries`` holds the plan's ``metric_queries``
    (frozen like the plan); ``state`` each query's last answer::

        {"error_rate": {"rendered", "value", "note", "read_at",
                        "error", "error_code", "error_at", "failures"}}

    ``lease_until`` and ``claim`` are the claim of the poll batch that will
    poll it: a wedge is claimed only while no lease runs, and a batch polls
    only what its own claim still holds, so no two batches poll one wedge at
    once; a batch whose worker died leaves a lease that simply runs out.
    """

    wedge = models.OneToOneField(
        "wedges.RolloutWedge",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="metric_poll",
    )
    queries = models.JSONField()
    state = models.JSONField(default=dict, blank=True)
    next_poll_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Which claim holds the lease: a batch polls only the wedges its claim still holds.
    claim = models.UUIDField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    # Set while any query fails; its providers, for the dashboard and /healthz.
    failing_since = models.DateTimeField(null=True, blank=True)
    failing_providers = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["failing_since"],
                condition=models.Q(failing_since__isnull=False),
                name="polledwedge_failing",
            )
        ]

    def __str__(self) -> str:
        return f"metric queries of wedge {self.wedge_id}"

    def rows(self) -> list[dict[str, Any]]:
        """Each query with its last answer, for the pages, in the plan's order."""
        return [
            {"metric": metric, **query, **self.state.get(metric, {})}
            for metric, query in self.queries.items()
        ]


class AlertReceipt(models.Model):
    """One firing Alertmanager alert acted on: replays of it act no more (the unique pair)."""

    fingerprint = models.CharField(max_length=100)
    starts_at = models.DateTimeField()
    received_at = models.DateTimeField()
    alertname = models.CharField(max_length=200, blank=True)
    labels = models.JSONField(default=dict)
    outcome = models.JSONField(default=dict, help_text="What it did, by proposal.")

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["fingerprint", "starts_at"], name="alert_receipt_once")
        ]

    def __str__(self) -> str:
        return f"{self.alertname or self.fingerprint} from {self.starts_at:%Y-%m-%d %H:%M:%S}"
