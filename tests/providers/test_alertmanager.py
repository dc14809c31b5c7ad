"""``POST /api/v1/alerts/alertmanager/``: firing alerts roll wedges back, once; and a real
Alertmanager delivering to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from harness.prometheus import Alertmanager
from org.models import Subsystem
from org.tokens import token_issue
from providers.models import AlertReceipt
from tests.workers import wait_until
from wedges.models import RolloutWedge
from wedges.services import wedge_start

URL = "/api/v1/alerts/alertmanager/"
STARTS = "2026-11-28T10:00:00.123456789Z"


def alert(status="firing", fingerprint="f1", starts_at=STARTS, **labels):
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", **labels},
        "annotations": {"summary": "5xx above 5 % on the canary"},
        "startsAt": starts_at,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def payload(*alerts):
    return {
        "version": "4",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "wedge",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": list(alerts),
    }


def client_with(demo, username="pipeline", scopes=("metrics:write",), subsystems=()):
    issued = token_issue(
        owner=demo[username],
        actor=demo[username],
        name="alertmanager",
        scopes=scopes,
        subsystems=[Subsystem.objects.get(slug=slug) for slug in subsystems],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.key}")
    return client, issued.key


def state(proposal) -> str:
    return RolloutWedge.objects.get(proposal=proposal).wedge_state


@pytest.fixture
def running(submit, demo):
    def make(author="pipeline", subsystem="connector-runtime", **wedge):
        proposal = submit(author, subsystem=subsystem, rollout_wedge=wedge)
        wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
        return proposal

    return make


@pytest.mark.django_db
def test_a_firing_alert_rolls_its_proposal_back_with_the_alert_in_the_audit(running, demo):
    proposal = running()
    client, _ = client_with(demo)
    response = client.post(URL, payload(alert(wedge_proposal=str(proposal.pk))), format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["alerts"] == [
        {
            "fingerprint": "f1",
            "status": "firing",
            "action": "rolled_back",
            "rolled_back": [proposal.pk],
            "not_running": [],
            "refused": [],
            "unknown": [],
        }
    ]
    assert state(proposal) == "ROLLED_BACK"
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.actor == demo["pipeline"]
    assert event.reason == (
        "Alertmanager alert 'HighErrorRate' is firing: 5xx above 5 % on the canary"
    )
    snapshot = event.metrics["alert"]
    assert snapshot["labels"]["wedge_proposal"] == str(proposal.pk)
    assert snapshot["annotations"] == {"summary": "5xx above 5 % on the canary"}
    assert snapshot["fingerprint"] == "f1"
    assert event.data["rule"] == "external_alert"


@pytest.mark.django_db
def test_a_replay_of_the_same_alert_acts_once(running, demo):
    proposal = running()
    client, _ = client_with(demo)
    body = payload(alert(wedge_proposal=str(proposal.pk)))
    client.post(URL, body, format="json")
    again = client.post(URL, body, format="json")
    assert again.status_code == 200
    assert again.json()["alerts"][0]["action"] == "replayed"
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").count() == 1
    assert AlertReceipt.objects.count() == 1


@pytest.mark.django_db
def test_the_same_fingerprint_firing_anew_acts_again(running, demo):
    first, second = running(), running()
    client, _ = client_with(demo)
    client.post(URL, payload(alert(wedge_proposal=str(first.pk))), format="json")
    later = alert(starts_at="2026-11-28T11:00:00Z", wedge_proposal=str(second.pk))
    assert client.post(URL, payload(later), format="json").json()["alerts"][0]["action"] == (
        "rolled_back"
    )
    assert state(second) == "ROLLED_BACK"


@pytest.mark.django_db
def test_a_resolved_alert_does_nothing(running, demo):
    proposal = running()
    client, _ = client_with(demo)
    body = payload(alert(status="resolved", wedge_proposal=str(proposal.pk)))
    response = client.post(URL, body, format="json")
    assert response.json()["alerts"][0]["action"] == "resolved"
    assert state(proposal) == "ACTIVE"
    assert AlertReceipt.objects.count() == 0


@pytest.mark.django_db
def test_a_subsystem_label_rolls_back_every_running_wedge_of_it(running, demo, submit):
    first, second = running(), running()
    elsewhere = running(subsystem="control-plane", initial_percentage=5)
    pending = submit("pipeline")
    client, _ = client_with(demo)
    response = client.post(URL, payload(alert(wedge_subsystem="connector-runtime")), format="json")
    assert response.json()["alerts"][0]["rolled_back"] == sorted([first.pk, second.pk])
    assert (state(first), state(second)) == ("ROLLED_BACK", "ROLLED_BACK")
    assert state(elsewhere) == "ACTIVE"
    assert state(pending) == "PENDING"


@pytest.mark.django_db
def test_what_an_alert_names_that_is_not_running_or_unknown_is_reported(running, demo, submit):
    pending = submit("pipeline")
    client, _ = client_with(demo)
    body = payload(
        alert(fingerprint="a", wedge_proposal=str(pending.pk)),
        alert(fingerprint="b", wedge_proposal="999999"),
        alert(fingerprint="c", wedge_subsystem="no-such-subsystem"),
        alert(fingerprint="d"),
    )
    outcomes = {o["fingerprint"]: o for o in client.post(URL, body, format="json").json()["alerts"]}
    assert outcomes["a"]["action"] == "nothing_running"
    assert outcomes["a"]["not_running"] == [pending.pk]
    assert outcomes["b"]["unknown"] == ["wedge_proposal=999999"]
    assert outcomes["c"]["unknown"] == ["wedge_subsystem=no-such-subsystem"]
    assert outcomes["d"]["action"] == "no_wedge_labels"
    assert state(pending) == "PENDING"


@pytest.mark.django_db
def test_a_token_limited_to_other_subsystems_is_refused_per_alert(running, demo):
    proposal = running()
    client, _ = client_with(demo, subsystems=["control-plane"])
    response = client.post(URL, payload(alert(wedge_proposal=str(proposal.pk))), format="json")
    assert response.status_code == 200
    assert response.json()["alerts"][0]["action"] == "refused"
    assert response.json()["alerts"][0]["refused"] == [proposal.pk]
    assert state(proposal) == "ACTIVE"


@pytest.mark.django_db
def test_a_token_without_metrics_write_is_refused(running, demo):
    proposal = running()
    client, _ = client_with(demo, scopes=("desired-state:read",))
    response = client.post(URL, payload(alert(wedge_proposal=str(proposal.pk))), format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "insufficient_scope"
    assert state(proposal) == "ACTIVE"


@pytest.mark.django_db
def test_no_token_no_entry(client, demo):
    client.force_login(demo["dave"])  # a session is not enough: Alertmanager sends a token
    assert client.post(URL, payload(), content_type="application/json").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"version": "4"}, "alerts", "required"),
        ({"version": "3", "alerts": []}, "version", "unsupported_version"),
        ({"alerts": [{"status": "firing"}]}, "alerts[0].labels", "required"),
        (
            {"alerts": [{**alert(), "status": "pending"}]},
            "alerts[0].status",
            "invalid_choice",
        ),
        ({"alerts": [{**alert(), "startsAt": "yesterday"}]}, "alerts[0].startsAt", "invalid"),
        ({"alerts": [{**alert(), "labels": ["a"]}]}, "alerts[0].labels", "not_a_dict"),
        ({"alerts": "many"}, "alerts", "not_a_list"),
    ],
)
def test_a_bad_payload_is_a_400_with_field_paths(demo, body, field, code):
    client, _ = client_with(demo)
    response = client.post(URL, body, format="json")
    assert response.status_code == 400
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}


@pytest.mark.django_db
def test_a_malformed_proposal_label_is_unknown_not_an_error(running, demo):
    client, _ = client_with(demo)
    response = client.post(URL, payload(alert(wedge_proposal="12; drop")), format="json")
    assert response.json()["alerts"][0]["unknown"] == ["wedge_proposal=12; drop"]


# --- A real Alertmanager delivering to a live server -------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.django_db(transaction=True)
def test_a_real_alertmanager_delivers_a_firing_alert_that_rolls_back(
    live_server, running, demo, tmp_path
):
    proposal = running()
    _, key = client_with(demo)
    with Alertmanager.running(tmp_path, f"{live_server.url}{URL}", key) as alertmanager:
        starts = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
        alertmanager.fire(
            {"alertname": "HighErrorRate", "wedge_proposal": str(proposal.pk)},
            {"summary": "5xx above 5 %"},
            starts_at=starts,
        )
        assert wait_until(lambda: state(proposal) == "ROLLED_BACK", 60, interval=0.2), (
            alertmanager.log()
        )
        receipt = AlertReceipt.objects.get()
        assert receipt.alertname == "HighErrorRate"
        assert receipt.outcome["rolled_back"] == [proposal.pk]
        event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.actor == demo["pipeline"]
    assert event.metrics["alert"]["labels"]["wedge_proposal"] == str(proposal.pk)
    assert event.metrics["alert"]["fingerprint"] == receipt.fingerprint
    assert AuditEvent.objects.filter(proposal_id=proposal.pk, code="RWG-003").count() == 1
