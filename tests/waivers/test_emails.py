"""Who is told, by email, at each step (sent only once the change has committed)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.test import override_settings

from org.mail import drain
from tests.waivers.helpers import T
from waivers.services import waiver_approve, waiver_reject, waiver_revoke, waivers_expire

pytestmark = pytest.mark.django_db


def sent() -> list[tuple[str, list[str], str]]:
    """The messages sent since the last call: subject, sorted recipients, body."""
    drain()  # the emails sent off the caller's thread (org.mail), too
    messages = [(str(m.subject), sorted(m.to), str(m.body)) for m in mail.outbox]
    mail.outbox.clear()
    return messages


def at(*names: str) -> list[str]:
    return sorted(f"{name}@example.com" for name in names)


def test_every_step_tells_the_people_concerned(
    demo, single_stage, request_waiver, django_capture_on_commit_callbacks
):
    proposal = single_stage("pipeline")  # a service account: never mailed
    with django_capture_on_commit_callbacks(execute=True):
        # dave (an operator) reads every proposal, so may request for the pipeline's.
        waiver = request_waiver("dave", proposal=proposal, days=30)
    [(subject, to, body)] = sent()
    assert subject == f"Waiver #{waiver.pk} requested: your approval is needed"
    # Everyone who may approve: the leads (bob, frank) and the reviewer (carol).
    assert to == at("bob", "carol", "frank")

    with django_capture_on_commit_callbacks(execute=True):
        waiver_approve(waiver=waiver, approver=demo["carol"], comment="Looks fine.")
    [(subject, to, body)] = sent()
    assert subject == f"Waiver #{waiver.pk}: first approval given by carol"
    assert "Looks fine." in body
    # The requester, and the platform lead whose approval is still missing.
    assert to == at("bob", "dave")

    with (
        django_capture_on_commit_callbacks(execute=True),
        override_settings(WEDGE_SITE_URL="https://wedge.example.org"),
    ):
        waiver = waiver_approve(waiver=waiver, approver=demo["bob"])
    (ready, operators, ready_body), (subject, to, body) = sorted(sent(), key=lambda m: m[0])
    assert subject.startswith(f"Waiver #{waiver.pk} approved: active until ")
    assert to == at("carol", "dave")
    assert f"- proposal #{proposal.pk}: https://wedge.example.org/proposals/{proposal.pk}/" in body
    # The waiver made the proposal startable: whoever may start it hears of it.
    assert ready == f"Ready to start: #{proposal.pk} {proposal.title}"
    assert operators == at("bob", "dave")
    assert f"The proposal: https://wedge.example.org/proposals/{proposal.pk}/" in ready_body
    assert f"The waiver: https://wedge.example.org/waivers/{waiver.pk}/" in ready_body

    with time_machine.travel(T, tick=False), django_capture_on_commit_callbacks(execute=True):
        waivers_expire(now=waiver.expires_at + dt.timedelta(seconds=1))
    [(subject, to, body)] = sent()
    assert subject == f"Waiver #{waiver.pk} expired"
    assert to == at("bob", "carol", "dave")


def test_rejection_and_revocation_tell_the_requester_and_the_approvers(
    demo, single_stage, request_waiver, django_capture_on_commit_callbacks
):
    first = request_waiver("alice", proposal=single_stage())
    waiver_approve(waiver=first, approver=demo["bob"])
    with django_capture_on_commit_callbacks(execute=True):
        waiver_reject(waiver=first, approver=demo["carol"], reason="Split it in two stages.")
    [(subject, to, body)] = sent()
    assert subject == f"Waiver #{first.pk} rejected by carol"
    assert to == at("alice", "bob")
    assert "Split it in two stages." in body

    second = request_waiver("alice", proposal=single_stage())
    with django_capture_on_commit_callbacks(execute=True):
        waiver_revoke(waiver=second, actor=demo["bob"], reason="Duplicate.")
    [(subject, to, body)] = sent()
    assert subject == f"Waiver #{second.pk} revoked by bob"
    assert to == at("alice")


def test_the_body_carries_the_rationale_and_a_link(
    demo, single_stage, request_waiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        waiver = request_waiver(
            "alice", proposal=single_stage(), rationale="Feature flag <off> by default & safe."
        )
    [(_, _, body)] = sent()
    assert "Feature flag <off> by default & safe." in body  # plain text, not escaped
    # Absolute: a mail client has no page for a relative link to be relative to.
    assert f"The waiver: http://127.0.0.1:8000/waivers/{waiver.pk}/" in body
    assert "lead of the Platform section" in body


def test_nothing_is_sent_when_the_transaction_does_not_commit(
    demo, single_stage, request_waiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_waiver("alice", proposal=single_stage())
    # The email, and the outbox's publish of WDG-201 (waiver steps reach subscribers).
    assert len(callbacks) == 2
    assert mail.outbox == []
