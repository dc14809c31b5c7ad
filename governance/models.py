"""Incidents: what went wrong in production, recorded against the proposal that caused it.

The quarterly governance report (``governance.report``) measures the rollout
wedges against these. Whether a wedge *contained* an incident is derived, never
stored: see ``governance.rules.is_contained``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from governance import rules


class Severity(models.TextChoices):
    SEV1 = "SEV1", "SEV1 — critical"
    SEV2 = "SEV2", "SEV2 — major"
    SEV3 = "SEV3", "SEV3 — minor"
    SEV4 = "SEV4", "SEV4 — low"


class Incident(models.Model):
    """One production incident attributed to a change proposal.

    Written only by ``governance.services`` (``incident_record`` from the
    proposal page, ``incident_upsert`` from an incident tool: the API and the
    CSV import), audited as WDG-501 (recorded) and WDG-502 (updated).
    ``affected_percentage`` is the share of the infrastructure the incident
    touched, on the same 0 to 100 scale as a wedge's exposure. An incident
    from a tool is known by ``(source, external_id)``: importing it again
    updates it.
    """

    proposal = models.ForeignKey(
        "wedges.ChangeProposal", on_delete=models.PROTECT, related_name="incidents"
    )
    occurred_at = models.DateTimeField(db_index=True)
    severity = models.CharField(max_length=4, choices=Severity.choices)
    affected_percentage = models.DecimalField(max_digits=5, decimal_places=2)
    summary = models.TextField()
    # PROTECT like the audit trail's actors: who reported an incident stays known.
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # From an incident tool (PagerDuty, Opsgenie, incident.io ...); empty when typed in.
    source = models.CharField(max_length=40, blank=True)
    external_id = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=300, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    service = models.CharField(
        max_length=200, blank=True, help_text="The service or subsystem as the tool named it."
    )
    link = models.URLField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~models.Q(external_id=""),
                name="incident_unique_external_id_per_source",
            ),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(resolved_at__gte=models.F("occurred_at")),
                name="incident_resolved_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(affected_percentage__gte=0, affected_percentage__lte=100),
                name="incident_affected_0_to_100",
                violation_error_message="The affected percentage is from 0 to 100.",
            ),
            models.CheckConstraint(
                condition=models.Q(severity__in=Severity.values),
                name="incident_severity_known",
            ),
        ]

    def __str__(self) -> str:
        return f"incident #{self.pk} ({self.severity}) on proposal #{self.proposal_id}"

    @property
    def exposure_reached(self) -> float:
        """The exposure the wedge reached (select_related ``proposal__rollout_wedge``)."""
        return rules.exposure_reached(self.proposal.rollout_wedge)

    @property
    def contained(self) -> bool:
        """Whether the wedge contained this incident (``governance.rules``)."""
        return rules.is_contained(self.proposal.rollout_wedge, self.affected_percentage)
