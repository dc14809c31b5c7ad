"""Who hears of a pause or a rollback by email, and what the email says.

The author and everyone who may operate the section's rollouts (operators, the
section's leads) are told of every RWG-002 and RWG-003, whoever or whatever
caused it; the person who acted is not. Links are absolute (WEDGE_SITE_URL).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings

from org.mail import drain
from wedges.services import (
    wedge_pause,
    wedge_record_snapshot,
    wedge_rollback,
    wedge_start,
    wedges_tick,
)

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SITE = "https://wedge.example.org"


def sent() -> list[tuple[str, list[str], str]]:
    drain()
    messages = [(str(m.subject), sorted(m.to), str(m.body)) for m in mail.outbox]
    mail.outbox.clear()
    return messages


def at(*names: str) -> list[str]:
    return sorted(f"{name}@example.com" for name in names)


@pytest.fixture
def running(submit, demo, django_capture_on_commit_callbacks):
    proposal = submit("alice", title="Pool connections")
    with django_capture_on_commit_callbacks(execute=True):
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"], now=T0)
    assert sent() == []  # a start mails nobody
    return proposal


@override_settings(WEDGE_SITE_URL=SITE)
def test_a_breach_tells_the_author_and_the_section_s_operators(
    demo, running, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wedge_record_snapshot(
            proposal_id=running.pk,
            metrics={"error_rate": 0.09, "p99": "180ms"},
            actor=demo["pipeline"],
            now=T0 + timedelta(minutes=10),
        )
    [(subject, to, body)] = sent()
    assert subject == f"Rolled back: #{running.pk} Pool connections"
    # alice wrote it; dave operates everything; bob leads platform. Not frank
    # (security's lead), carol or erin, nor the reporting service account.
    assert to == at("alice", "bob", "dave")
    assert "was rolled back at 2 Nov 2026, 09:10:00 UTC by Wedge, automatically:" in body
    assert "error_rate 0.09 > 0.05 (rollback trigger of stage initial)." in body
    assert "at 5 % exposure" in body
    assert f"The proposal: {SITE}/proposals/{running.pk}/" in body
    assert "{'" not in body


def test_an_operator_s_rollback_and_pause_leave_the_operator_out(
    demo, submit, running, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        wedge_pause(
            proposal_id=running.pk, actor=demo["bob"], reason="Noisy canary", now=T0 + timedelta(1)
        )
    [(subject, to, body)] = sent()
    assert subject == f"Paused: #{running.pk} Pool connections"
    assert to == at("alice", "dave")  # bob acted
    assert "paused at 3 Nov 2026, 09:00:00 UTC by bob:" in body
    assert "an operator put the rollout on hold." in body
    assert "Reason given: Noisy canary" in body
    with django_capture_on_commit_callbacks(execute=True):
        wedge_rollback(
            proposal_id=running.pk, actor=demo["dave"], reason="", now=T0 + timedelta(days=2)
        )
    [(subject, to, body)] = sent()
    assert subject == f"Rolled back: #{running.pk} Pool connections"
    assert to == at("alice", "bob")
    assert "an operator rolled it back at 5 % exposure." in body


def test_an_automatic_pause_says_what_kept_the_stage_back(
    demo, running, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = wedges_tick(now=T0 + timedelta(hours=3))
    assert report.actions == {"pause": 1}
    [(subject, to, body)] = sent()
    assert subject == f"Paused: #{running.pk} Pool connections"
    assert to == at("alice", "bob", "dave")
    assert (
        "stage initial stayed 3 times its 1 h observation window without becoming eligible: "
        "no metrics were received." in body
    )


def test_a_rollback_that_does_not_commit_sends_nothing(
    demo, running, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        wedge_rollback(proposal_id=running.pk, actor=demo["dave"], reason="", now=T0)
    assert callbacks  # queued for the commit only
    assert sent() == []


def test_an_email_that_cannot_be_composed_leaves_the_rollback_committed(
    demo, running, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    # The email is composed once the rollback has committed, outside its lock:
    # a failure there is logged and changes nothing that was recorded.
    def broken(section):
        raise RuntimeError("directory unavailable")

    monkeypatch.setattr("wedges.notifications.access.operators_of", broken)
    with django_capture_on_commit_callbacks(execute=True):
        wedge_rollback(proposal_id=running.pk, actor=demo["dave"], reason="", now=T0)
    running.rollout_wedge.refresh_from_db()
    assert running.rollout_wedge.wedge_state == "ROLLED_BACK"
    assert sent() == []
    assert "directory unavailable" in caplog.text
