"""The metric providers' part of /healthz: degraded (not down) while queries fail."""

from __future__ import annotations

from collections import Counter
from typing import Final

from org.health import PartStatus
from providers.config import provider_names
from providers.models import PolledWedge
from wedges.models import State

PART: Final = "metric_providers"
_COUNTED: Final = 1000  # enough to name every failing provider


def metric_providers_health() -> PartStatus | None:
    """Whether the running wedges' metric queries answer; nothing to say without providers."""
    names = provider_names()
    if not names:
        return None
    failing = Counter(
        provider
        for providers in PolledWedge.objects.filter(
            failing_since__isnull=False, wedge__wedge_state__in=[State.ACTIVE, State.PAUSED]
        ).values_list("failing_providers", flat=True)[:_COUNTED]
        for provider in providers
    )
    if not failing:
        return PartStatus(PART, True, f"{len(names)} configured: {', '.join(names)}", False)
    detail = "; ".join(
        f"{provider}: failing for {count} running wedge{'s' if count != 1 else ''}"
        for provider, count in sorted(failing.items())
    )
    return PartStatus(PART, False, detail, critical=False)
