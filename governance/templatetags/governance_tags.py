"""The proposal page's incident block, and small helpers of the governance pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import template

from governance import rules, selectors
from governance.forms import IncidentForm
from org import humane
from wedges.models import ChangeProposal
from wedges.policy import codes

register = template.Library()

# The badge colours of wedge.css, reused: red for the worst, grey for the least.
_SEVERITY_BADGES = {
    "SEV1": "state-ROLLED_BACK",
    "SEV2": "state-PAUSED",
    "SEV3": "state-ACTIVE",
    "SEV4": "state-PENDING",
}


@register.filter
def severity_badge(severity: str) -> str:
    """The CSS class of a severity's badge."""
    return _SEVERITY_BADGES.get(severity, "")


@register.filter
def share(value: float | None) -> str:
    """A fraction as a percentage with one decimal ("—" for none)."""
    return "—" if value is None else f"{value:.1%}"


@register.filter
def pct(value: Decimal | float | None) -> str:
    """A percentage without trailing zeros ("7.5 %"; "—" for none)."""
    return "—" if value is None else f"{float(value):g} %"


@register.filter
def seconds(value: float | None) -> str:
    """A measured number of seconds: "35 ms", "4.2 s", "1 min 05 s" ("—" for none)."""
    return "—" if value is None else humane.elapsed(timedelta(seconds=value))


@register.filter
def minutes(value: float | None) -> str:
    """A mean number of minutes as a duration: "4 min", "1 h 05 min" ("—" for none)."""
    return "—" if value is None else humane.elapsed(timedelta(minutes=value))


@register.simple_tag
def proposal_incidents(proposal: ChangeProposal, user: Any) -> dict[str, Any]:
    """The proposal's incidents for those who may read them, and the form for those who may record.

    The block is on the page of a proposal the user reads, so they read its
    incidents too (``governance.selectors.visible_incidents``). Containment
    reads the wedge the page already loaded, so it costs no query per incident.
    """
    may_record = rules.may_record_incident(user, proposal.subsystem)
    wedge = proposal.rollout_wedge
    incidents = list(selectors.proposal_incidents(proposal.pk, user))
    return {
        "visible": True,
        "incidents": [
            {
                "incident": incident,
                "contained": rules.is_contained(wedge, incident.affected_percentage),
            }
            for incident in incidents
        ],
        "exposure_reached": rules.exposure_reached(wedge),
        "can_record": may_record,
        "form": IncidentForm() if may_record else None,
    }


# What made a rollback happen (the RWG-003's ``data.rule``), in words.
_RULE_LABELS = {
    codes.RULE_ROLLBACK: "Rollback trigger",
    codes.RULE_BLAST: "Max blast radius exceeded",
    "operator": "Operator's decision",
}


@register.filter
def rule_label(rule: str | None) -> str:
    """A rollback's cause in words ("Rollback trigger"), not its rule code."""
    if not rule:
        return "—"
    return _RULE_LABELS.get(rule, rule)
