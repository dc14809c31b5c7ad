"""Contract: Argo Rollouts' "Web Metrics" and "Analysis" documents, read the way Argo reads us.

The web provider GETs the URL, takes ``jsonPath`` of the JSON body as
``result`` and evaluates ``successCondition`` and ``failureCondition``
(Argo's ``evaluate.EvaluateResult``): failure wins, success otherwise, and
neither is Inconclusive; with no success condition, "not failed" is success.
A non-2xx answer is an Error. With ``failureLimit: 0`` one failed
measurement fails the run, with ``consecutiveSuccessLimit: 1`` one success
ends it successfully; inconclusive measurements keep it waiting.

The template, JSON path and conditions are read from the file we ship
(docs/integrations/argo-clusteranalysistemplate.yaml), not copied here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonpath_ng import parse as jsonpath
from rest_framework.test import APIClient

from audit.models import AuditEvent
from gates.models import CanaryBinding
from tests.gates.conftest import BREACH, HEALTHY, T0, WINDOW, at, snapshot, start, wedge

pytestmark = pytest.mark.django_db

TEMPLATES = (
    Path(__file__).resolve().parents[2] / "docs/integrations/argo-clusteranalysistemplate.yaml"
)


def metric(template_name: str) -> dict[str, Any]:
    for document in yaml.safe_load_all(TEMPLATES.read_text()):
        if document["metadata"]["name"] == template_name:
            (found,) = document["spec"]["metrics"]
            return found
    raise LookupError(template_name)


def condition(expression: str, result: object) -> bool:
    """The conditions we ship, in expr-lang: ``result == "x"`` joined by ``&&``/``||``."""
    terms = []
    for part in re.split(r"\s*(\|\||&&)\s*", expression.strip()):
        if part in ("||", "&&"):
            terms.append(part)
            continue
        match = re.fullmatch(r'result\s*(==|!=)\s*"([^"]*)"', part)
        assert match, f"not a condition we know how to read: {part!r}"
        equal = result == match[2]
        terms.append(equal if match[1] == "==" else not equal)
    value = terms[0]
    for operator, operand in zip(terms[1::2], terms[2::2], strict=True):
        value = (value and operand) if operator == "&&" else (value or operand)
    return bool(value)


def measurement(spec: dict[str, Any], response: Any) -> str:
    """One measurement's phase, as Argo's web provider and EvaluateResult decide it."""
    if not 200 <= response.status_code < 300:
        return "Error"
    path = spec["provider"]["web"]["jsonPath"]
    # Kubernetes JSONPath: the expression inside braces.
    assert path[0] + path[-1] == "{}"
    (match,) = jsonpath(path[1:-1]).find(response.json())
    result = match.value
    success = spec.get("successCondition")
    failure = spec.get("failureCondition")
    failed = condition(failure, result) if failure else False
    succeeded = condition(success, result) if success else False
    if success and not failure:
        failed = not succeeded
    if failure and not success:
        succeeded = not failed
    if failed:
        return "Failed"
    return "Successful" if succeeded else "Inconclusive"


def run_outcome(spec: dict[str, Any], phases: list[str]) -> str:
    """An analysis run's result after these measurements (still Running if undecided)."""
    failures = successes_in_a_row = inconclusive = 0
    for phase in phases:
        if phase == "Failed":
            failures += 1
            successes_in_a_row = 0
            if failures > spec.get("failureLimit", 0):
                return "Failed"
        elif phase == "Successful":
            successes_in_a_row += 1
            limit = spec.get("consecutiveSuccessLimit", 0)
            if limit and successes_in_a_row >= limit:
                return "Successful"
        elif phase == "Inconclusive":
            inconclusive += 1
            successes_in_a_row = 0
            if inconclusive > spec.get("inconclusiveLimit", 0):
                return "Inconclusive"
    return "Running"


class Argo:
    """Measures as Argo's web provider does: a GET with the template's headers."""

    def __init__(self, key: str, proposal_id: int, cluster: str = "eu-west-1") -> None:
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        self.url = (
            f"/api/v1/gates/argo/{proposal_id}/?cluster={cluster}&namespace=test&rollout=podinfo"
        )

    def get(self, moment, *, watch: bool = False, anonymous: bool = False) -> Any:
        url = self.url.split("?")[0] if anonymous else self.url + ("&watch=true" if watch else "")
        with at(moment):
            return self.client.get(url)


GATE = metric("wedge-gate")
WATCH = metric("wedge-watch")


def test_the_shipped_template_is_the_one_the_issue_asks_for():
    assert GATE["provider"]["web"]["jsonPath"] == "{$.decision}"
    assert GATE["successCondition"] == 'result == "approved"'
    assert GATE["failureCondition"] == 'result == "rejected"'
    assert GATE["failureLimit"] == 0
    assert GATE["consecutiveSuccessLimit"] == 1
    assert GATE["inconclusiveLimit"] >= 10_000
    headers = GATE["provider"]["web"]["headers"]
    assert headers == [{"key": "Authorization", "value": "Token {{args.wedge-token}}"}]


@pytest.fixture
def argo(demo, agent_key, canary_proposal):
    proposal = canary_proposal()
    return proposal, Argo(agent_key, proposal.pk)


def test_every_answer_is_a_200_with_the_documented_fields(demo, argo):
    _, rollout = argo
    response = rollout.get(T0)
    assert response.status_code == 200
    assert set(response.json()) == {
        "decision",
        "allowed",
        "wedge_state",
        "stage_id",
        "exposure_percentage",
        "reason",
        "code",
        "proposal_id",
    }
    assert response.json()["decision"] == "pending"
    assert measurement(GATE, response) == "Inconclusive"


def test_an_analysis_step_succeeds_once_per_stage(demo, argo):
    proposal, rollout = argo
    start(demo, proposal)
    # The step before setWeight 5: approved at once, the run succeeds.
    assert run_outcome(GATE, [measurement(GATE, rollout.get(T0))]) == "Successful"
    # The next step waits: inconclusive every 30 s until the stage is eligible.
    phases = [measurement(GATE, rollout.get(T0 + timedelta(seconds=30 * n))) for n in (1, 2, 3)]
    assert phases == ["Inconclusive"] * 3
    assert run_outcome(GATE, phases) == "Running"
    # The Rollout keeps polling (so it is healthy), the stage becomes eligible and advances.
    phases.append(measurement(GATE, rollout.get(T0 + WINDOW - timedelta(seconds=30))))
    snapshot(demo, proposal, HEALTHY, T0 + WINDOW)
    assert wedge(proposal).current_stage_id == "canary"
    phases.append(measurement(GATE, rollout.get(T0 + WINDOW + timedelta(seconds=30))))
    assert run_outcome(GATE, phases) == "Successful"
    binding = CanaryBinding.objects.get(proposal=proposal)
    assert (binding.cluster, binding.namespace, binding.name) == ("eu-west-1", "test", "podinfo")
    assert binding.tool == "argo"
    assert binding.granted_stage == 0


def test_a_rollback_fails_the_run_at_once(demo, argo):
    proposal, rollout = argo
    start(demo, proposal)
    snapshot(demo, proposal, BREACH, T0 + timedelta(minutes=3))
    response = rollout.get(T0 + timedelta(minutes=4))
    assert response.status_code == 200
    assert response.json()["decision"] == "rejected"
    assert run_outcome(GATE, [measurement(GATE, response)]) == "Failed"
    assert run_outcome(WATCH, [measurement(WATCH, response)]) == "Failed"


def test_the_watch_never_takes_a_step_and_passes_until_a_rollback(demo, argo):
    proposal, rollout = argo
    start(demo, proposal)
    watched = [
        measurement(WATCH, rollout.get(T0 + timedelta(seconds=s), watch=True)) for s in (0, 30)
    ]
    assert watched == ["Successful", "Successful"]
    # The watch took no step: the gate's first step is still there.
    assert rollout.get(T0 + timedelta(minutes=1)).json()["decision"] == "approved"
    assert CanaryBinding.objects.get(proposal=proposal).asks_gates


def test_an_anonymous_measurement_is_answered_but_binds_nothing(demo, argo):
    proposal, rollout = argo
    start(demo, proposal)
    response = rollout.get(T0, anonymous=True)
    assert response.status_code == 200
    assert response.json()["decision"] == "pending"  # inside the window: nothing passed yet
    assert not CanaryBinding.objects.exists()


def test_a_paused_wedge_is_pending(demo, argo):
    from wedges.services import rollout as services

    proposal, rollout = argo
    start(demo, proposal)
    services.wedge_pause(proposal_id=proposal.pk, actor=demo["dave"], reason="hold", now=T0)
    assert rollout.get(T0 + timedelta(minutes=1)).json()["decision"] == "pending"


def test_complete_is_approved(demo, argo):
    proposal, rollout = argo
    start(demo, proposal)
    for hour in (1, 2, 3, 4):
        snapshot(demo, proposal, HEALTHY, T0 + hour * WINDOW)  # no canary bound yet
    assert wedge(proposal).wedge_state == "COMPLETE"
    assert measurement(GATE, rollout.get(T0 + 5 * WINDOW)) == "Successful"


def test_errors_are_non_2xx_so_argo_counts_them_as_errors(demo, argo):
    proposal, _ = argo
    unauthenticated = APIClient()
    with at(T0):
        response = unauthenticated.get(f"/api/v1/gates/argo/{proposal.pk}/")
    assert response.status_code == 401
    assert measurement(GATE, response) == "Error"


def test_an_unknown_proposal_is_a_404(demo, agent_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {agent_key}")
    for raw in ("999999", "abc", "1.5"):
        with at(T0):
            response = client.get(f"/api/v1/gates/argo/{raw}/")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "unknown_proposal"
    assert AuditEvent.objects.filter(code="WDG-704").count() == 3


def report(key, proposal_id, body, moment):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with at(moment):
        return client.post(f"/api/v1/gates/argo/{proposal_id}/report/", body, format="json")


def test_an_aborted_rollout_reported_by_argos_notifications_rolls_back(demo, agent_key, argo):
    proposal, rollout = argo
    start(demo, proposal)
    rollout.get(T0)
    body = {"cluster": "eu-west-1", "namespace": "test", "rollout": "podinfo", "phase": "Degraded"}
    response = report(agent_key, proposal.pk, body, T0 + timedelta(minutes=10))
    assert response.status_code == 200, response.json()
    assert response.json()["rolled_back"] is True
    event = AuditEvent.objects.get(proposal_id=proposal.pk, code="RWG-003")
    assert event.data["cluster"] == "eu-west-1"
    assert event.data["tool"] == "argo"
    other = Argo(agent_key, proposal.pk, cluster="us-east-1")
    assert other.get(T0 + timedelta(minutes=11)).json()["decision"] == "rejected"


def test_a_completed_rollout_is_recorded_as_promoted(demo, agent_key, argo):
    proposal, rollout = argo
    start(demo, proposal)
    rollout.get(T0)
    body = {"cluster": "eu-west-1", "namespace": "test", "rollout": "podinfo", "phase": "Healthy"}
    assert report(agent_key, proposal.pk, body, T0 + timedelta(minutes=1)).status_code == 200
    assert CanaryBinding.objects.get(proposal=proposal).health == "succeeded"


def test_a_report_with_an_unknown_phase_is_a_400(demo, agent_key, argo):
    proposal, _ = argo
    body = {"namespace": "test", "rollout": "podinfo", "phase": "Exploded"}
    response = report(agent_key, proposal.pk, body, T0)
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "phase",
        "code": "unknown_phase",
        "message": "phase 'Exploded' is none of Argo Rollouts' Progressing, Paused, Healthy, "
        "Degraded.",
    }
