"""Contract: each subscription format as its receiver's documentation describes it.

* Slack, "Sending messages using incoming webhooks": a JSON body with ``text``
  (the notification's fallback) and ``blocks``; ``&``, ``<`` and ``>``
  escaped in mrkdwn; a header block of plain text (at most 150 characters).
* Microsoft Learn, "Send Adaptive Cards using an Incoming Webhook" (and the
  Workflows "when a Teams webhook request is received" trigger): ``{"type":
  "message", "attachments": [{"contentType":
  "application/vnd.microsoft.card.adaptive", "contentUrl": null, "content":
  <AdaptiveCard>}]}``.
* CDEvents v0.5.1, ``service-deployed`` and ``service-rolledback`` (event
  version 0.3.0), carried by the CDEvents "CloudEvents Binding" in HTTP
  binary mode: ``ce-*`` headers equal to the CDEvent's context, the whole
  CDEvent as an ``application/json`` body.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_binary_event

from config.signing import verify
from webhooks.formats import Delivery, Format, render

SITE = "https://wedge.example.com"
ROLLBACK = {
    "event": "RWG-003",
    "proposal_id": 42,
    "title": "Connector runtime <2.5> & pooling",
    "subsystem": "connector-runtime",
    "reference": "test/podinfo",
    "wedge_state": "ROLLED_BACK",
    "stage_id": "initial",
    "exposure_percentage": 0.0,
    "max_blast_radius": 90.0,
    "reason": "canary test/podinfo in cluster us-east-1 reported Failed: error_rate > 0.05",
    "occurred_at": "2026-11-02T09:20:00+00:00",
    "cluster": "us-east-1",
    "canary": "test/podinfo",
    "clusters": ["eu-west-1", "us-east-1"],
}


def delivery(code: str = "RWG-003", site: str = SITE) -> Delivery:
    return Delivery(
        delivery_id="5b2e8c1e-3f9a-4b8e-9d61-0f4a2d7c9e11",
        event_code=code,
        secret="a-webhook-secret-of-some-length",
        timestamp=1_793_610_000,
        site_url=site,
    )


def test_json_is_the_signed_webhook_of_the_api_contract():
    rendered = render(Format.JSON, ROLLBACK, delivery())
    assert json.loads(rendered.body) == ROLLBACK
    assert rendered.headers["X-Wedge-Event"] == "RWG-003"
    assert verify(
        "a-webhook-secret-of-some-length",
        1_793_610_000,
        rendered.body,
        rendered.headers["X-Wedge-Signature"],
    )


# --- Slack ------------------------------------------------------------------------------------


def slack() -> dict[str, Any]:
    rendered = render(Format.SLACK, ROLLBACK, delivery())
    assert rendered.headers["Content-Type"] == "application/json"
    assert "X-Wedge-Signature" not in rendered.headers  # the URL is the receiver's secret
    return json.loads(rendered.body)


def test_slack_sending_messages_using_incoming_webhooks_text_and_blocks():
    message = slack()
    assert set(message) == {"text", "blocks"}
    assert message["text"].startswith(":rotating_light: Rollout rolled back: #42 ")
    types = [block["type"] for block in message["blocks"]]
    assert types == ["header", "section", "section", "actions"]
    header = message["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert header["text"] == "Rollout rolled back: #42 Connector runtime <2.5> & pooling"
    assert len(header["text"]) <= 150


def test_slack_says_what_happened_where_and_why_and_links_the_page():
    message = slack()
    why = message["blocks"][1]["text"]
    assert why["type"] == "mrkdwn"
    assert "us-east-1 reported Failed: error_rate &gt; 0.05" in why["text"]
    fields = {
        f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in message["blocks"][2]["fields"]
    }
    assert fields["*Proposal*"] == "#42 Connector runtime &lt;2.5&gt; &amp; pooling"
    assert fields["*Stage*"] == "initial (exposure 0%)"
    assert fields["*Cluster*"] == "us-east-1"
    assert fields["*Subsystem*"] == "connector-runtime"
    assert len(message["blocks"][2]["fields"]) <= 10
    (button,) = message["blocks"][3]["elements"]
    assert button["type"] == "button"
    assert button["url"] == f"{SITE}/proposals/42/"
    assert f"<{SITE}/proposals/42/|Open the proposal>" in message["text"]


def test_slack_without_a_site_url_has_no_link():
    message = json.loads(render(Format.SLACK, ROLLBACK, delivery(site="")).body)
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "section"]


def test_any_code_reads_as_its_meaning():
    payload = {"event": "WDG-999", "reason": "a provider failed", "proposal_id": 7}
    message = json.loads(render(Format.SLACK, payload, delivery("WDG-999")).body)
    assert message["blocks"][0]["text"]["text"] == "WDG-999: #7"
    assert message["blocks"][1]["text"]["text"] == "a provider failed"


def test_a_long_title_is_cut_to_slacks_limits():
    payload = {**ROLLBACK, "title": "x" * 400, "reason": "y" * 5000}
    message = json.loads(render(Format.SLACK, payload, delivery()).body)
    assert len(message["blocks"][0]["text"]["text"]) == 150
    assert len(message["blocks"][1]["text"]["text"]) <= 3000


# --- Microsoft Teams ---------------------------------------------------------------------------


def test_microsoft_learn_send_adaptive_cards_using_an_incoming_webhook():
    message = json.loads(render(Format.TEAMS, ROLLBACK, delivery()).body)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    title, why, facts = card["body"]
    assert title["type"] == "TextBlock"
    assert title["text"] == "Rollout rolled back: #42 Connector runtime <2.5> & pooling"
    assert title["color"] == "Attention"
    assert why["text"] == ROLLBACK["reason"]
    assert facts["type"] == "FactSet"
    named = {fact["title"]: fact["value"] for fact in facts["facts"]}
    assert named["Cluster"] == "us-east-1"
    assert named["Stage"] == "initial (exposure 0%)"
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open the proposal", "url": f"{SITE}/proposals/42/"}
    ]


# --- CDEvents ----------------------------------------------------------------------------------

# What the CDEvents v0.5.1 schemas require of service-deployed and
# service-rolledback (schemas/servicedeployed.json, servicerolledback.json),
# written out here from the specification.
_NON_EMPTY = {"type": "string", "minLength": 1}


def cdevents_schema(event_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["context", "subject"],
        "properties": {
            "context": {
                "type": "object",
                "additionalProperties": False,
                "required": ["specversion", "id", "source", "type", "timestamp"],
                "properties": {
                    "specversion": _NON_EMPTY,
                    "id": _NON_EMPTY,
                    "source": _NON_EMPTY,
                    "type": {"type": "string", "enum": [event_type]},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "schemaUri": _NON_EMPTY,
                    "chainId": _NON_EMPTY,
                    "links": {"type": "array"},
                },
            },
            "subject": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "content"],
                "properties": {
                    "id": _NON_EMPTY,
                    "source": _NON_EMPTY,
                    "content": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["environment", "artifactId"],
                        "properties": {
                            "environment": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["id"],
                                "properties": {"id": _NON_EMPTY, "source": _NON_EMPTY},
                            },
                            "artifactId": _NON_EMPTY,
                        },
                    },
                },
            },
            "customData": {"type": ["object", "string"]},
            "customDataContentType": {"type": "string"},
        },
    }


@pytest.mark.parametrize(
    ("code", "event_type"),
    [
        ("RWG-003", "dev.cdevents.service.rolledback.0.3.0"),
        ("RWG-004", "dev.cdevents.service.deployed.0.3.0"),
    ],
)
def test_cdevents_v0_5_1_service_events_in_the_cloudevents_binary_binding(code, event_type):
    rendered = render(Format.CDEVENTS, {**ROLLBACK, "event": code}, delivery(code))
    document = json.loads(rendered.body)
    jsonschema.validate(
        document, cdevents_schema(event_type), format_checker=jsonschema.FormatChecker()
    )
    context = document["context"]
    assert context["specversion"] == "0.5.1"
    assert context["id"] == "5b2e8c1e-3f9a-4b8e-9d61-0f4a2d7c9e11"  # the delivery's: stable
    assert context["source"] == f"{SITE}/"
    assert context["timestamp"] == "2026-11-02T09:20:00Z"
    assert document["subject"]["id"] == "connector-runtime"
    assert document["subject"]["content"]["environment"]["id"] == "us-east-1"
    assert (
        document["subject"]["content"]["artifactId"] == "pkg:generic/connector-runtime@proposal-42"
    )
    assert document["customData"]["wedge"]["url"] == f"{SITE}/proposals/42/"
    # The binding: ce-* headers are the CDEvent's context, parsed back by the SDK.
    headers = rendered.headers
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-type"] == event_type
    assert headers["ce-id"] == context["id"]
    assert headers["ce-subject"] == "connector-runtime"
    assert headers["Content-Type"] == "application/json"
    event = from_binary_event(HTTPMessage(headers, rendered.body))
    assert event.get_type() == event_type
    assert event.get_source() == context["source"]
    assert event.get_time().isoformat() == "2026-11-02T09:20:00+00:00"
    assert event.get_data() == document


def test_a_package_url_reference_is_the_artifact():
    payload = {**ROLLBACK, "reference": "pkg:oci/podinfo@sha256%3Aabc"}
    document = json.loads(render(Format.CDEVENTS, payload, delivery()).body)
    assert document["subject"]["content"]["artifactId"] == "pkg:oci/podinfo@sha256%3Aabc"
