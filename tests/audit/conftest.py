from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from audit.codes import EventCode
from audit.models import AuditEvent
from audit.services import ANONYMOUS_LABEL, record_event
from org.models import ApiToken, User
from org.tokens import generate_key, hash_key


@pytest.fixture(autouse=True)
def _readable_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests decide who reads which proposal and waiver without depending on
    # their models (the trails name ids that have no rows): see tests/audit/hooks.py.
    from audit import selectors
    from tests.audit import hooks

    monkeypatch.setitem(
        selectors.READABLE, selectors.Subject.PROPOSAL, hooks.proposals_submitted_by
    )
    monkeypatch.setitem(selectors.READABLE, selectors.Subject.WAIVER, hooks.waivers_requested_by)


Record = Callable[..., AuditEvent]


@pytest.fixture
def record() -> Record:
    """``record_event`` in its own transaction, as a service would call it."""

    def make(**kwargs: Any) -> AuditEvent:
        with transaction.atomic():
            return record_event(**kwargs)

    return make


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.UTC)


@pytest.fixture
def trail(demo: dict[str, User], record: Record) -> dict[str, AuditEvent]:
    """A small, known trail: proposal 1 is alice's, proposal 2 bob's."""
    alice, bob, dave = demo["alice"], demo["bob"], demo["dave"]
    return {
        "submitted_1": record(
            code=EventCode.PROPOSAL_SUBMITTED, actor=alice, proposal_id=1, occurred_at=at(1)
        ),
        "started_1": record(
            code=EventCode.WEDGE_STARTED, actor=dave, proposal_id=1, occurred_at=at(2)
        ),
        "advanced_1": record(
            code=EventCode.STAGE_ADVANCED,
            proposal_id=1,
            stage_id="canary",
            target_percentage=5,
            metrics={"error_rate": 0.004, "p99": "180ms"},
            reason="criteria met",
            occurred_at=at(3),
        ),
        "submitted_2": record(
            code=EventCode.PROPOSAL_SUBMITTED, actor=bob, proposal_id=2, occurred_at=at(4)
        ),
        "rolled_back_2": record(
            code=EventCode.ROLLED_BACK,
            proposal_id=2,
            stage_id="=cmd|' /C calc'!A0",
            target_percentage="25",
            metrics={"error_rate": 0.09},
            reason='=HYPERLINK("http://evil")',
            occurred_at=at(5),
        ),
        "waiver_7": record(
            code=EventCode.WAIVER_REQUESTED, actor=alice, waiver_id=7, occurred_at=at(6)
        ),
        "sign_in_failed": record(
            code=EventCode.SIGN_IN_FAILED,
            actor_label=ANONYMOUS_LABEL,
            data={"username": "mallory"},
            occurred_at=at(7),
        ),
    }


@pytest.fixture
def token_client(demo: dict[str, User]) -> Callable[[str], APIClient]:
    """Like the suite's ``token_client``, but the tokens are made directly so
    that issuing them (WDG-302) does not add events to the trails under test."""

    def make(username: str) -> APIClient:
        key = generate_key()
        ApiToken.objects.create(
            name="test",
            owner=demo[username],
            key_prefix=key[: ApiToken.KEY_PREFIX_LENGTH],
            key_hash=hash_key(key),
            scopes=["admin"],
            created_at=timezone.now(),
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make
