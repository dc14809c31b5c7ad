"""Only signed, fresh, first-time deliveries reach the reconciler."""

import json
import queue
from datetime import UTC, datetime

import pytest
import requests
import time_machine

from agent.config import WebhookConfig
from agent.logs import EventLog
from agent.webhook import Listener, Rejected, Verifier

from .conftest import PROPOSAL, SECRET, payload, signed

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
MAX_AGE = 300


@pytest.fixture
def verifier():
    return Verifier(SECRET, max_age_seconds=MAX_AGE)


def test_a_signed_delivery_is_read(verifier):
    headers, body = signed(
        payload(code="RWG-003", wedge_state="ROLLED_BACK", exposure_percentage=0)
    )
    event = verifier.verify(headers, body)
    assert event is not None
    assert (event.code, event.proposal, event.delivery) == ("RWG-003", PROPOSAL, "d-1")
    assert event.state.wedge_state == "ROLLED_BACK"
    assert event.state.exposure_percentage == 0


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: ({**h, "X-Wedge-Signature": ""}, b), id="unsigned"),
        pytest.param(
            lambda h, b: ({k: v for k, v in h.items() if k != "X-Wedge-Signature"}, b),
            id="no-signature-header",
        ),
        pytest.param(
            lambda h, b: (
                h,
                b.replace(b'"exposure_percentage": 10.0', b'"exposure_percentage": 90'),
            ),
            id="body-changed",
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Wedge-Timestamp": str(int(h["X-Wedge-Timestamp"]) + 1)}, b),
            id="timestamp-changed",
        ),
        pytest.param(
            lambda h, b: signed(json.loads(b), secret="another-secret"), id="wrong-secret"
        ),
        pytest.param(
            lambda h, b: ({**h, "X-Wedge-Signature": h["X-Wedge-Signature"].upper()}, b),
            id="not-the-hex-form",
        ),
        pytest.param(lambda h, b: ({**h, "X-Wedge-Timestamp": "soon"}, b), id="bad-timestamp"),
    ],
)
def test_a_bad_signature_is_rejected(verifier, tamper):
    headers, body = tamper(*signed(payload()))
    with pytest.raises(Rejected) as rejected:
        verifier.verify(headers, body)
    assert rejected.value.status == 401


def test_a_rejected_delivery_is_not_remembered(verifier):
    """A forged copy of a delivery id must not make the real one look like a replay."""
    headers, body = signed(payload(), delivery="d-7")
    with pytest.raises(Rejected):
        verifier.verify({**headers, "X-Wedge-Signature": "sha256=" + "0" * 64}, body)
    assert verifier.verify(headers, body) is not None


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (MAX_AGE - 1, True),
        (MAX_AGE, True),
        (MAX_AGE + 1, False),
        (-MAX_AGE, True),  # signed by a clock slightly ahead of ours
        (-(MAX_AGE + 1), False),
    ],
)
def test_the_timestamp_window_edges(verifier, age, accepted):
    headers, body = signed(payload(), timestamp=int(NOW.timestamp()))
    with time_machine.travel(NOW.timestamp() + age, tick=False):
        if accepted:
            assert verifier.verify(headers, body) is not None
        else:
            with pytest.raises(Rejected, match="stale") as rejected:
                verifier.verify(headers, body)
            assert rejected.value.status == 401


def test_a_replayed_delivery_is_acknowledged_once(verifier):
    headers, body = signed(payload(), delivery="d-9")
    assert verifier.verify(headers, body) is not None
    assert verifier.verify(headers, body) is None
    # Wedge re-signs a retry with a new timestamp: still the same delivery.
    later, _ = signed(
        json.loads(body), delivery="d-9", timestamp=int(headers["X-Wedge-Timestamp"]) + 5
    )
    with time_machine.travel(int(headers["X-Wedge-Timestamp"]) + 5, tick=False):
        assert verifier.verify(later, body) is None


def test_replay_memory_is_bounded():
    verifier = Verifier(SECRET, max_age_seconds=MAX_AGE, remember=2)
    deliveries = [signed(payload(), delivery=f"d-{n}") for n in range(3)]
    for headers, body in deliveries:
        assert verifier.verify(headers, body) is not None
    assert verifier.verify(*deliveries[2]) is None
    assert verifier.verify(*deliveries[0]) is not None  # forgotten, oldest first


@pytest.mark.parametrize(
    ("body", "event"),
    [
        (b"not json", "RWG-001"),
        (json.dumps({**payload(), "exposure_percentage": "lots"}).encode(), "RWG-001"),
        (json.dumps({**payload(), "exposure_percentage": 101}).encode(), "RWG-001"),
        (
            json.dumps({k: v for k, v in payload().items() if k != "occurred_at"}).encode(),
            "RWG-001",
        ),
        (json.dumps({**payload(), "occurred_at": "2026-11-28T10:00:00"}).encode(), "RWG-001"),
        (json.dumps({**payload(), "proposal_id": "42"}).encode(), "RWG-001"),
        (json.dumps(payload(code="RWG-003")).encode(), "RWG-001"),
    ],
    ids=["not-json", "exposure-text", "exposure-101", "no-time", "naive-time", "id-text", "code"],
)
def test_a_signed_but_unreadable_payload_is_a_400(verifier, body, event):
    headers, data = signed(body, event=event)
    with pytest.raises(Rejected) as rejected:
        verifier.verify(headers, data)
    assert rejected.value.status == 400


# --- Over HTTP --------------------------------------------------------------------------------


@pytest.fixture
def listener():
    accepted: queue.Queue = queue.Queue()
    config = WebhookConfig(host="127.0.0.1", port=0, secret=SECRET, max_age_seconds=MAX_AGE)
    server = Listener(
        config,
        followed={PROPOSAL},
        accept=accepted.put,
        status=lambda: (True, {"healthy": True}),
        log=EventLog(),
    )
    server.serve_in_background()
    server.accepted = accepted
    server.url = "http://{}:{}/hooks/wedge".format(*server.address)
    try:
        yield server
    finally:
        server.close()


def post(listener, headers, body, path="/hooks/wedge"):
    url = listener.url.replace("/hooks/wedge", path)
    return requests.post(url, data=body, headers=headers, timeout=5)


def test_the_listener_queues_a_signed_delivery(listener):
    headers, body = signed(payload(), delivery="d-http")
    assert post(listener, headers, body).status_code == 202
    assert listener.accepted.get_nowait().delivery == "d-http"


def test_the_listener_refuses_a_bad_signature_and_queues_nothing(listener, caplog):
    headers, body = signed(payload(), secret="guessed")
    assert post(listener, headers, body).status_code == 401
    assert listener.accepted.empty()
    rejected = [r for r in caplog.records if r.getMessage() == "webhook_rejected"]
    assert rejected[0].fields["reason"] == "bad signature"


def test_the_listener_refuses_a_stale_delivery(listener):
    headers, body = signed(payload(), timestamp=int(datetime.now(UTC).timestamp()) - MAX_AGE - 60)
    assert post(listener, headers, body).status_code == 401
    assert listener.accepted.empty()


def test_the_listener_acknowledges_a_replay_without_queueing_it(listener):
    headers, body = signed(payload(), delivery="d-twice")
    assert post(listener, headers, body).status_code == 202
    assert post(listener, headers, body).status_code == 204
    assert listener.accepted.qsize() == 1


def test_the_listener_ignores_a_proposal_it_does_not_follow(listener):
    headers, body = signed({**payload(), "proposal_id": PROPOSAL + 1})
    assert post(listener, headers, body).status_code == 204
    assert listener.accepted.empty()


def test_the_listener_answers_only_its_path_and_a_bounded_body(listener):
    headers, body = signed(payload())
    assert post(listener, headers, body, path="/elsewhere").status_code == 404
    assert post(listener, headers, b"x" * (65 * 1024)).status_code == 413
    assert listener.accepted.empty()


def test_the_listener_serves_healthz(listener):
    response = requests.get(listener.url.replace("/hooks/wedge", "/healthz"), timeout=5)
    assert response.status_code == 200
    assert response.json() == {"healthy": True}
