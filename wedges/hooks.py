"""What the apps above wedges plug into it, since wedges cannot import them.

Dependencies point one way (``waivers`` -> ``wedges``). Where wedges needs an
answer only such an app has, the app registers a function here in its
``AppConfig.ready`` and wedges calls whatever is registered:

- Start checks: ``wedge_start`` calls every check under the wedge's row lock,
  before the wedge moves. A check refuses by raising ``RolloutRefused`` and
  may return facts for the start's audit event (``{"waiver": 7}``). A check
  locks what it reads only after the wedge (wedge first, then the rest), and
  the registering app never locks a wedge, so the two never deadlock.
- Advance checks: before a wedge advances or completes, whoever moves it (the
  beat tick, a snapshot, an operator's approval) calls every check under the
  wedge's row lock. A check holds the wedge by returning an ``AdvanceHold``
  (a rule and a reason, which the operator's refusal and the audit trail
  show); the engine's decision stands otherwise. The gates app holds a
  wedge until every canary mapped to its proposal reports healthy.
- The waiver cover: which waiver lifted the waivable rules of a proposal, for
  the proposal's answer (``ChangeProposal.waiver_cover``), with the joins that
  let a list of proposals read it without a query per row.
- The metric providers: the names a wedge's ``metric_queries`` may use, for
  validation (rule 11). With no app registered, names are not checked.

Wedges stores what the policy says of a proposal (``waiver_required``,
``waivable_codes``); whether a waiver covers it is the waivers app's to say.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wedges.models import ChangeProposal, RolloutWedge

StartCheck = Callable[["ChangeProposal", datetime], Mapping[str, Any] | None]


@dataclass(frozen=True)
class AdvanceHold:
    """Why an app above wedges holds an eligible stage where it is."""

    rule: str
    reason: str


AdvanceCheck = Callable[["RolloutWedge", datetime], AdvanceHold | None]


@dataclass(frozen=True)
class WaiverCover:
    """The waiver that lifted a proposal's waivable rules, as the proposal's answer shows it."""

    waiver_id: int
    state: str
    expires_at: datetime | None


CoverReader = Callable[["ChangeProposal"], WaiverCover | None]


@dataclass
class CoverSource:
    reader: CoverReader | None = None
    joins: tuple[str, ...] = ()


ProviderNames = Callable[[], Iterable[str]]


@dataclass
class ProviderSource:
    reader: ProviderNames | None = None


# Filled in the registering apps' ``ready``; tests may swap them (monkeypatch).
START_CHECKS: list[StartCheck] = []
ADVANCE_CHECKS: list[AdvanceCheck] = []
COVER = CoverSource()
PROVIDERS = ProviderSource()


def register_start_check(check: StartCheck) -> None:
    """Have ``wedge_start`` call ``check(proposal, now)`` before every start."""
    if check not in START_CHECKS:
        START_CHECKS.append(check)


def run_start_checks(proposal: ChangeProposal, now: datetime) -> dict[str, Any]:
    """Call every start check; the facts they return, merged (a refusal propagates)."""
    facts: dict[str, Any] = {}
    for check in START_CHECKS:
        facts.update(check(proposal, now) or {})
    return facts


def register_advance_check(check: AdvanceCheck) -> None:
    """Have every advance and completion ask ``check(wedge, now)`` first."""
    if check not in ADVANCE_CHECKS:
        ADVANCE_CHECKS.append(check)


def advance_hold(wedge: RolloutWedge, now: datetime) -> AdvanceHold | None:
    """The first hold an advance check puts on ``wedge``, or ``None`` when it may move."""
    for check in ADVANCE_CHECKS:
        hold = check(wedge, now)
        if hold is not None:
            return hold
    return None


def register_cover_reader(reader: CoverReader, *, joins: Iterable[str] = ()) -> None:
    """Say which waiver covers a proposal; ``joins`` are the ``select_related`` paths it reads."""
    COVER.reader = reader
    COVER.joins = tuple(joins)


def waiver_cover(proposal: ChangeProposal) -> WaiverCover | None:
    """The waiver covering ``proposal``, or ``None`` (also when no app says)."""
    return COVER.reader(proposal) if COVER.reader is not None else None


def cover_joins() -> tuple[str, ...]:
    """The ``select_related`` paths from a proposal that ``waiver_cover`` reads."""
    return COVER.joins


def register_provider_names(reader: ProviderNames) -> None:
    """Say which metric providers exist: ``reader()`` returns their names."""
    PROVIDERS.reader = reader


def provider_names() -> frozenset[str] | None:
    """The names of the configured metric providers; ``None`` when no app says."""
    return frozenset(PROVIDERS.reader()) if PROVIDERS.reader is not None else None
