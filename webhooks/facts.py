"""What an announced event says about its proposal, from the apps that know it.

The outbox sits below the apps that own proposals (``wedges``) and their
clusters (``gates``), yet a Slack message or a CDEvent must name the proposal's
title, subsystem and clusters. Those apps register a provider here in their
``AppConfig.ready``; ``webhooks.services.enqueue`` asks each one whose facts
the payload does not carry yet, inside the transaction of the event, so the
message describes exactly what was committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

FactsProvider = Callable[[int], Mapping[str, Any]]

# (the payload keys a provider fills, the provider); filled in ``ready``.
PROVIDERS: list[tuple[frozenset[str], FactsProvider]] = []


def register(keys: frozenset[str] | set[str], provider: FactsProvider) -> None:
    """Have ``provider(proposal_id)`` fill ``keys`` of every payload that lacks one of them."""
    entry = (frozenset(keys), provider)
    if entry not in PROVIDERS:
        PROVIDERS.append(entry)


def about_proposal(proposal_id: int | None, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The facts the registered providers add to ``payload`` (whose own keys win)."""
    facts: dict[str, Any] = {}
    if proposal_id is None:
        return facts
    for keys, provider in PROVIDERS:
        if not keys <= payload.keys():
            facts.update(provider(proposal_id))
    return facts
