from __future__ import annotations

import copy
from collections.abc import Callable, Generator
from typing import Any

import pgtrigger
import pytest
from django.test import Client

from org.models import User
from tests.waivers.helpers import BODY, SINGLE_STAGE
from waivers.models import WaiverRequest
from waivers.services import waiver_approve, waiver_request
from wedges.models import ChangeProposal
from wedges.services import proposal_submit
from wedges.submission import check_submission


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Let the flush after ``transaction=True`` tests TRUNCATE the append-only audit table.

    (The same hook as tests/audit/conftest.py: only that trigger, only in teardown.)
    """
    with pgtrigger.ignore("audit.AuditEvent:protect_truncate"):
        return (yield)


Submit = Callable[..., ChangeProposal]


@pytest.fixture
def submit(demo: dict[str, User]) -> Submit:
    """Store a proposal through the real submission path (signal included)."""

    def make(author: str = "alice", *, stages: list[dict[str, Any]] | None = None, **changes: Any):
        body = copy.deepcopy(BODY)
        body.update(changes)
        if stages is not None:
            body["rollout_wedge"]["wedge_stages"] = copy.deepcopy(stages)
        check = check_submission(body)
        assert check.storable, check.to_dict()
        return proposal_submit(check=check, author=demo[author]).proposal

    return make


@pytest.fixture
def single_stage(submit: Submit) -> Submit:
    """A proposal stored with ``waiver_required`` (one stage only)."""

    def make(author: str = "alice", **changes: Any) -> ChangeProposal:
        proposal = submit(author, stages=SINGLE_STAGE, **changes)
        assert proposal.waiver_required
        return proposal

    return make


Request = Callable[..., WaiverRequest]


@pytest.fixture
def request_waiver(demo: dict[str, User]) -> Request:
    def make(
        requester: str = "alice",
        *,
        proposal: ChangeProposal | None = None,
        subsystem: str | None = None,
        change_type: str | None = None,
        days: int = 30,
        rationale: str = "A one-line config flag; a second stage adds nothing.",
    ) -> WaiverRequest:
        from org.models import Subsystem

        return waiver_request(
            requester=demo[requester],
            rationale=rationale,
            duration_days=days,
            proposal=proposal,
            subsystem=Subsystem.objects.get(slug=subsystem) if subsystem else None,
            change_type=change_type,
        )

    return make


@pytest.fixture
def approve(demo: dict[str, User]) -> Callable[..., WaiverRequest]:
    def make(waiver: WaiverRequest, *approvers: str, comment: str = "ok") -> WaiverRequest:
        for name in approvers:
            waiver = waiver_approve(waiver=waiver, approver=demo[name], comment=comment)
        return waiver

    return make


@pytest.fixture
def login(client: Client, demo: dict[str, User]) -> Callable[[str], Client]:
    def make(username: str) -> Client:
        client.force_login(demo[username])
        return client

    return make
