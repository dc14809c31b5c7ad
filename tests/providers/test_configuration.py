"""Providers: the admin's form, the read API, the environment's default, validation, /healthz."""

from __future__ import annotations

import copy

import pytest
from django.test import override_settings

from providers.admin import MetricProviderForm
from providers.models import MetricProvider, PolledWedge
from tests.documents import PROPOSAL

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "prometheus",
    "kind": "prometheus",
    "base_url": "http://prometheus.internal:9090",
    "timeout_seconds": "5",
    "max_concurrency": "8",
    "auth_type": "none",
    "bearer_token": "",
    "username": "",
    "password": "",
}


def form(instance=None, **changes):
    return MetricProviderForm(data={**GOOD, **changes}, instance=instance)


# --- The admin's form: field errors, write-only secrets ------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"base_url": "prometheus:9090"}, "base_url", "http:// or https://"),
        ({"base_url": "ftp://prometheus"}, "base_url", "http:// or https://"),
        ({"base_url": "http://u:p@prometheus"}, "base_url", "no user name or password"),
        ({"base_url": "http://prometheus:99999"}, "base_url", "Not a usable URL"),
        ({"base_url": "http://prometheus/?x=1"}, "base_url", "no query"),
        ({"timeout_seconds": "0"}, "timeout_seconds", "between 0.1 and 60"),
        ({"timeout_seconds": "61"}, "timeout_seconds", "between 0.1 and 60"),
        ({"max_concurrency": "65"}, "max_concurrency", "between 1 and 64"),
        ({"name": "Prometheus"}, "name", "lower-case"),
        ({"auth_type": "bearer"}, "bearer_token", "needs a token"),
        ({"auth_type": "basic", "username": "wedge"}, "password", "needs a password"),
    ],
)
def test_a_bad_setting_is_an_error_on_its_field(changes, field, words):
    bound = form(**changes)
    assert not bound.is_valid()
    assert field in bound.errors, bound.errors
    assert any(words in message for message in bound.errors[field]), bound.errors


def test_a_good_provider_is_stored_with_its_secret():
    bound = form(auth_type="bearer", bearer_token="s3cret")
    assert bound.is_valid(), bound.errors
    provider = bound.save()
    assert provider.bearer_token == "s3cret"


def test_an_empty_secret_keeps_the_stored_one_and_is_never_shown():
    provider = form(auth_type="bearer", bearer_token="s3cret").save()
    edit = form(instance=provider, auth_type="bearer", bearer_token="", timeout_seconds="2")
    assert edit.is_valid(), edit.errors
    edit.save()
    provider.refresh_from_db()
    assert (provider.bearer_token, provider.timeout_seconds) == ("s3cret", 2.0)
    assert "s3cret" not in str(MetricProviderForm(instance=provider)["bearer_token"])


def test_changing_the_auth_type_drops_the_old_secret():
    provider = form(auth_type="bearer", bearer_token="s3cret").save()
    form(instance=provider, auth_type="none").save()
    provider.refresh_from_db()
    assert provider.bearer_token == ""


def test_the_admin_pages_work(client, demo):
    client.force_login(demo["admin"])
    assert client.get("/admin/providers/metricprovider/add/").status_code == 200
    response = client.post("/admin/providers/metricprovider/add/", {**GOOD, "base_url": "nonsense"})
    assert response.status_code == 200
    assert "http:// or https://" in response.content.decode()
    response = client.post("/admin/providers/metricprovider/add/", GOOD)
    assert response.status_code == 302
    assert MetricProvider.objects.get().base_url == GOOD["base_url"]


# --- The read API ------------------------------------------------------------------------


def test_anyone_signed_in_reads_the_providers_but_never_their_secrets(token_client):
    MetricProvider.objects.create(
        name="thanos", base_url="http://thanos:10902", auth_type="bearer", bearer_token="s3cret"
    )
    response = token_client("alice").get("/api/v1/metric-providers/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "name": "thanos",
            "kind": "prometheus",
            "base_url": "http://thanos:10902",
            "auth_type": "bearer",
            "has_credentials": True,
            "timeout_seconds": 5.0,
            "max_concurrency": 8,
            "source": "database",
            "failing_wedges": 0,
        }
    ]
    assert "s3cret" not in response.content.decode()
    detail = token_client("erin").get("/api/v1/metric-providers/thanos/")
    assert detail.json()["name"] == "thanos"
    missing = token_client("erin").get("/api/v1/metric-providers/nope/")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"


@override_settings(
    WEDGE_PROMETHEUS_URL="http://prometheus:9090", WEDGE_PROMETHEUS_BEARER_TOKEN="env-secret"
)
def test_the_environment_gives_a_default_provider_named_prometheus(token_client):
    body = token_client("alice").get("/api/v1/metric-providers/").json()
    assert [(p["name"], p["source"], p["has_credentials"]) for p in body] == [
        ("prometheus", "environment", True)
    ]
    assert "env-secret" not in str(body)
    # An admin's row of the same name takes its place.
    MetricProvider.objects.create(name="prometheus", base_url="http://other:9090")
    body = token_client("alice").get("/api/v1/metric-providers/").json()
    assert [(p["base_url"], p["source"]) for p in body] == [("http://other:9090", "database")]


# --- Validation: one engine for the API, the dry run, the form and the command -------------


def with_queries(**queries):
    body = copy.deepcopy(PROPOSAL)
    body["rollout_wedge"]["metric_queries"] = queries
    return body


def test_the_dry_run_checks_provider_names(token_client):
    MetricProvider.objects.create(name="prometheus", base_url="http://p:9090")
    client = token_client("alice")
    body = with_queries(
        error_rate={"provider": "promethues", "query": "x"},
        p99={"provider": "prometheus", "query": "{{stage}}"},
    )
    answer = client.post("/api/v1/proposals/validate/", body, format="json").json()
    found = {(e["field"], e["code"]) for e in answer["errors"]}
    assert found == {
        ("rollout_wedge.metric_queries.error_rate.provider", "unknown_provider"),
        ("rollout_wedge.metric_queries.p99.query", "unknown_query_variable"),
    }
    ok = with_queries(error_rate={"provider": "prometheus", "query": "x"})
    answer = client.post("/api/v1/proposals/validate/", ok, format="json").json()
    assert answer["valid"]
    assert [(w["field"], w["code"]) for w in answer["warnings"]] == [
        ("rollout_wedge.wedge_stages[0].success_criteria[1]", "metric_not_queried")
    ]


def test_a_submission_naming_no_configured_provider_is_refused(token_client):
    response = token_client("alice").post(
        "/api/v1/proposals/",
        with_queries(error_rate={"provider": "prometheus", "query": "x"}),
        format="json",
    )
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "rollout_wedge.metric_queries.error_rate.provider"
    assert "none is configured" in error["message"]
    assert not PolledWedge.objects.exists()


def test_a_submitted_plan_with_queries_is_polled_from_its_start(token_client):
    MetricProvider.objects.create(name="prometheus", base_url="http://p:9090")
    query = {"provider": "prometheus", "query": "sum(rate(errors[1m]))"}
    response = token_client("alice").post(
        "/api/v1/proposals/", with_queries(error_rate=query), format="json"
    )
    assert response.status_code == 201, response.json()
    poll = PolledWedge.objects.get(wedge__proposal_id=response.json()["id"])
    assert poll.queries == {"error_rate": query}


def test_validate_wedge_checks_provider_names(tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    document = tmp_path / "wedge.json"
    import json

    document.write_text(
        json.dumps(with_queries(error_rate={"provider": "graphite", "query": "x"})["rollout_wedge"])
    )
    with pytest.raises((SystemExit, CommandError)):
        call_command("validate_wedge", str(document))


def test_the_form_takes_queries_and_places_their_errors(client, demo):
    MetricProvider.objects.create(name="prometheus", base_url="http://p:9090")
    client.force_login(demo["alice"])
    data = {
        "title": "With queries",
        "change_type": "connector_deployment",
        "subsystem": "connector-runtime",
        "initial_percentage": "5",
        "increment_policy": "linear",
        "max_blast_radius": "90",
        "observation_window_hours": "1",
        "metric_queries": "error_rate = promethues: sum(rate(errors[1m]))",
        "stages-TOTAL_FORMS": "2",
        "stages-INITIAL_FORMS": "0",
        "stages-MIN_NUM_FORMS": "0",
        "stages-MAX_NUM_FORMS": "100",
        "stages-0-stage_id": "canary",
        "stages-0-target_percentage": "10",
        "stages-0-duration_hours": "1",
        "stages-0-success_criteria": "error_rate < 0.01",
        "stages-0-rollback_trigger": "error_rate > 0.05",
        "stages-1-stage_id": "full",
        "stages-1-target_percentage": "90",
        "stages-1-duration_hours": "1",
        "stages-1-success_criteria": "error_rate < 0.01",
        "stages-1-rollback_trigger": "error_rate > 0.05",
    }
    response = client.post("/proposals/new/", data)
    assert response.status_code == 400
    assert "did you mean &#x27;prometheus&#x27;?" in response.content.decode()
    data["metric_queries"] = "error_rate = prometheus: sum(rate(errors[1m]))\n\n"
    response = client.post("/proposals/new/", data)
    assert response.status_code == 302
    poll = PolledWedge.objects.get()
    assert poll.queries == {
        "error_rate": {"provider": "prometheus", "query": "sum(rate(errors[1m]))"}
    }


# --- /healthz: degraded, never down -------------------------------------------------------


def test_healthz_is_degraded_while_a_provider_fails(client, submit, demo, workers_alive):
    MetricProvider.objects.create(name="prometheus", base_url="http://p:9090")
    assert client.get("/healthz").json()["parts"]["metric_providers"] == {"ok": True}
    proposal = submit(
        "alice",
        rollout_wedge={"metric_queries": {"error_rate": {"provider": "prometheus", "query": "x"}}},
    )
    from wedges.services import wedge_start

    wedge_start(proposal_id=proposal.pk, actor=demo["dave"])
    PolledWedge.objects.update(
        failing_since="2026-11-28T10:00:00Z", failing_providers=["prometheus"]
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["down"], body["degraded"]) == (
        "degraded",
        [],
        ["metric_providers"],
    )
    assert "detail" not in body["parts"]["metric_providers"]
    client.force_login(demo["admin"])
    detail = client.get("/healthz").json()["parts"]["metric_providers"]["detail"]
    assert detail == "prometheus: failing for 1 running wedge"


def test_healthz_says_nothing_of_providers_when_none_is_configured(client):
    assert "metric_providers" not in client.get("/healthz").json()["parts"]
