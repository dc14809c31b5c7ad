import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.django_db
URL = "/api/v1/proposals/"


@pytest.fixture
def proposals(submit):
    return [
        submit("alice", title="Pool connections"),
        submit("pipeline", title="Rotate keys", change_type="security_patch"),
        submit(
            "alice",
            title="Scheduler rewrite",
            subsystem="control-plane",
            change_type="control_plane",
        ),
    ]


def ids(response):
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_list_newest_first_with_wedges(token_client, proposals):
    response = token_client("erin").get(URL)
    assert ids(response) == [p.pk for p in reversed(proposals)]
    body = response.json()
    assert body["count"] == 3
    assert body["results"][0]["rollout_wedge"]["wedge_stages"][0]["stage_id"] == "canary"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"change_type": "security_patch"}, [1]),
        ({"subsystem": "control-plane"}, [2]),
        ({"author": "pipeline"}, [1]),
        ({"q": "scheduler"}, [2]),
        ({"q": "ROTATE"}, [1]),
        ({"state": "PENDING"}, [2, 1, 0]),
        ({"state": "ACTIVE"}, []),
        ({"author": "alice", "change_type": "connector_deployment"}, [0]),
    ],
)
def test_filters(token_client, proposals, query, expected):
    assert ids(token_client("erin").get(URL, query)) == [proposals[i].pk for i in expected]


def test_bad_filter_value_is_400(token_client, proposals):
    response = token_client("erin").get(URL, {"state": "BROKEN"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "state"


def test_pagination(token_client, proposals):
    response = token_client("erin").get(URL, {"page_size": 2})
    body = response.json()
    assert len(body["results"]) == 2
    assert body["next"] is not None
    second = token_client("erin").get(URL, {"page_size": 2, "page": 2}).json()
    assert len(second["results"]) == 1


def test_detail(token_client, proposals):
    response = token_client("alice").get(f"{URL}{proposals[2].pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["subsystem"] == "control-plane"
    assert body["rollout_wedge"]["max_blast_radius"] == 90
    assert body["waiver"] is None
    assert body["waiver_state"] is None
    assert body["waiver_expires_at"] is None


def test_missing_proposal_is_404_in_the_error_shape(token_client):
    response = token_client("alice").get(f"{URL}999999/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_list_queries_do_not_grow_with_rows(token_client, submit):
    client = token_client("erin")
    submit("alice")
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(5):
        submit("alice")
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)
