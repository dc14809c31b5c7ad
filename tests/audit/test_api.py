import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from audit.codes import EventCode
from audit.exports import EXPORT_FIELDS
from audit.hashing import compute_hash
from tests.audit.conftest import at

URL = "/api/v1/audit-events/"
EXPORT = "/api/v1/audit-events/export/"


def listed(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def streamed(response):
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def newest_first(*events):
    return sorted((event.id for event in events), reverse=True)


@pytest.mark.django_db
def test_anonymous_callers_get_401_in_the_error_shape(api_client, trail):
    for url in (URL, f"{URL}?format=csv", EXPORT):
        response = api_client.get(url)
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["erin", "dave", "bob", "carol"])
def test_view_all_roles_see_every_event(token_client, trail, username):
    assert listed(token_client(username).get(URL)) == newest_first(*trail.values())


@pytest.mark.django_db
def test_engineers_see_their_proposals_events_and_their_own_actions(token_client, trail):
    # alice authored proposal 1 (all its events, whoever acted) and requested waiver 7.
    assert listed(token_client("alice").get(URL)) == newest_first(
        trail["submitted_1"], trail["started_1"], trail["advanced_1"], trail["waiver_7"]
    )
    assert listed(token_client("alice").get(f"{URL}?proposal=2")) == []


@pytest.mark.django_db
@pytest.mark.parametrize("subject", ["PROPOSAL", "WAIVER"])
@pytest.mark.parametrize("username", ["alice", "erin"])
def test_without_a_registered_reader_the_trail_refuses_to_answer(
    token_client, trail, monkeypatch, subject, username
):
    # Never a quiet fallback to a narrower (or wider) trail: a configuration error.
    from django.core.exceptions import ImproperlyConfigured

    from audit import selectors

    monkeypatch.delitem(selectors.READABLE, selectors.Subject[subject])
    with pytest.raises(ImproperlyConfigured, match="register_readable"):
        token_client(username).get(URL)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("proposal=1", ["submitted_1", "started_1", "advanced_1"]),
        ("waiver=7", ["waiver_7"]),
        ("code=RWG-001&code=RWG-003", ["advanced_1", "rolled_back_2"]),
        ("code=WDG-301", ["sign_in_failed"]),
        ("actor=alice", ["submitted_1", "waiver_7"]),
        ("actor=system", ["advanced_1", "rolled_back_2"]),
        ("actor=anonymous", ["sign_in_failed"]),
        ("since=2026-11-05", ["rolled_back_2", "waiver_7", "sign_in_failed"]),
        ("until=2026-11-03T10:00:00Z", ["submitted_1", "started_1"]),
        ("since=2026-11-03T10:00:00Z&until=2026-11-04T10:00:01Z", ["advanced_1", "submitted_2"]),
        ("since=2026-11-03T11:00:00%2B01:00&until=2026-11-04", ["advanced_1"]),
        ("proposal=2&code=RWG-003", ["rolled_back_2"]),
        ("proposal=99", []),
    ],
)
def test_each_filter(token_client, trail, query, expected):
    response = token_client("erin").get(f"{URL}?{query}")
    assert listed(response) == newest_first(*(trail[name] for name in expected))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("since=yesterday", "since", "invalid"),
        ("until=2026-13-01", "until", "invalid"),
        ("proposal=abc", "proposal", "invalid"),
        ("proposal=0", "proposal", "min_value"),
        ("waiver=1.5", "waiver", "invalid"),
        ("code=RWG-999", "code", "invalid_choice"),
        ("format=xml", "format", "invalid_choice"),
    ],
)
def test_bad_filters_are_400_in_the_error_shape(token_client, trail, query, field, code):
    for url in (URL, EXPORT):
        response = token_client("erin").get(f"{url}?{query}")
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/json"
        errors = response.json()["errors"]
        assert [(error["field"], error["code"]) for error in errors] == [(field, code)]
        assert errors[0]["message"]


@pytest.mark.django_db
def test_cursor_pagination_walks_every_event_once_newest_first(token_client, trail):
    client = token_client("erin")
    seen, url, pages = [], f"{URL}?page_size=3", 0
    while url:
        body = client.get(url).json()
        assert set(body) == {"next", "previous", "results"}
        assert len(body["results"]) <= 3
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert seen == newest_first(*trail.values())


@pytest.mark.django_db
def test_a_garbled_cursor_is_an_error_not_a_crash(token_client, trail):
    response = token_client("erin").get(f"{URL}?cursor=not-a-cursor")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


@pytest.mark.django_db
def test_the_list_has_the_full_record(token_client, trail):
    (row,) = token_client("erin").get(f"{URL}?code=RWG-001").json()["results"]
    event = trail["advanced_1"]
    assert row == {
        "id": event.id,
        "occurred_at": "2026-11-03T10:00:00.000000+00:00",
        "code": "RWG-001",
        "meaning": "Stage advanced",
        "proposal_id": 1,
        "waiver_id": None,
        "stage_id": "canary",
        "target_percentage": "5.00",
        "actor_id": None,
        "actor_label": "system",
        "metrics": {"error_rate": 0.004, "p99": "180ms"},
        "reason": "criteria met",
        "data": {},
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@pytest.mark.django_db
def test_list_queries_do_not_grow_with_the_page(
    token_client, trail, record, django_assert_max_num_queries
):
    client = token_client("alice")
    for n in range(60):
        record(code=EventCode.PAUSED, proposal_id=1, occurred_at=at(8) + dt.timedelta(seconds=n))
    # Token lookup, permissions, the page: a handful, not one per row.
    with django_assert_max_num_queries(6):
        assert len(client.get(f"{URL}?page_size=60").json()["results"]) == 60


@pytest.mark.django_db
@pytest.mark.parametrize("url", [f"{URL}?format=csv", f"{EXPORT}?format=csv"])
def test_csv_streams_every_matching_event_in_chain_order(token_client, trail, url):
    response = token_client("erin").get(url + "&proposal=2")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-events-')
    rows = list(csv.DictReader(io.StringIO(streamed(response))))
    assert [int(row["id"]) for row in rows] == [trail["submitted_2"].id, trail["rolled_back_2"].id]
    assert list(rows[0]) == list(EXPORT_FIELDS)
    rolled_back = rows[1]
    assert rolled_back["code"] == "RWG-003"
    assert rolled_back["meaning"] == "Rollout rolled back"
    assert rolled_back["target_percentage"] == "25.00"
    assert rolled_back["metrics"] == '{"error_rate":0.09}'
    assert rolled_back["proposal_id"] == "2"
    assert rolled_back["waiver_id"] == ""
    assert rolled_back["hash"] == trail["rolled_back_2"].hash
    # Text people typed cannot run as a spreadsheet formula.
    assert rolled_back["reason"] == '\'=HYPERLINK("http://evil")'
    assert rolled_back["stage_id"].startswith("'=cmd")


@pytest.mark.django_db
def test_csv_is_also_chosen_by_the_accept_header(token_client, trail):
    response = token_client("erin").get(URL, HTTP_ACCEPT="text/csv")
    assert len(list(csv.DictReader(io.StringIO(streamed(response))))) == len(trail)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "?format=json"])
def test_json_export_streams_an_array_anyone_can_verify(token_client, trail, query):
    response = token_client("erin").get(EXPORT + query)
    assert response["Content-Type"] == "application/json"
    records = json.loads(streamed(response))
    assert [record["id"] for record in records] == sorted(event.id for event in trail.values())
    listed_records = token_client("erin").get(URL).json()["results"]
    assert records == listed_records[::-1]
    previous = "0" * 64
    for record in records:
        values = {
            **record,
            "occurred_at": dt.datetime.fromisoformat(record["occurred_at"]),
            "target_percentage": record["target_percentage"]
            and Decimal(record["target_percentage"]),
        }
        assert record["prev_hash"] == previous
        assert compute_hash(values) == record["hash"]
        previous = record["hash"]


@pytest.mark.django_db
def test_exports_respect_visibility_and_filters(token_client, trail):
    client = token_client("alice")
    records = json.loads(streamed(client.get(EXPORT)))
    assert {record["id"] for record in records} == {
        trail[name].id for name in ("submitted_1", "started_1", "advanced_1", "waiver_7")
    }
    rows = list(
        csv.DictReader(io.StringIO(streamed(client.get(f"{EXPORT}?format=csv&code=WDG-201"))))
    )
    assert [int(row["id"]) for row in rows] == [trail["waiver_7"].id]


@pytest.mark.django_db
def test_an_empty_export_is_still_well_formed(token_client, trail):
    assert json.loads(streamed(token_client("erin").get(f"{EXPORT}?proposal=99"))) == []
    csv_text = streamed(token_client("erin").get(f"{EXPORT}?proposal=99&format=csv"))
    assert csv_text.splitlines() == [",".join(EXPORT_FIELDS)]


@pytest.mark.django_db
def test_the_schema_documents_filters_formats_and_errors(token_client):
    response = token_client("erin").get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    operation = schema["paths"]["/api/v1/audit-events/"]["get"]
    parameters = {parameter["name"] for parameter in operation["parameters"]}
    assert {
        "proposal",
        "waiver",
        "code",
        "actor",
        "since",
        "until",
        "cursor",
        "format",
    } <= parameters
    assert {"200", "400", "401"} <= set(operation["responses"])
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "/api/v1/audit-events/export/" in schema["paths"]
