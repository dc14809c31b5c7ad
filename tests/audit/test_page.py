import datetime as dt
import re

import pytest

from audit.codes import EventCode
from tests.audit.conftest import at

URL = "/audit/"


def rows(response):
    assert response.status_code == 200
    return [int(n) for n in re.findall(r'<tr id="event-(\d+)"', response.content.decode())]


def newest_first(*events):
    return sorted((event.id for event in events), reverse=True)


@pytest.mark.django_db
def test_the_page_needs_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/audit/")


@pytest.mark.django_db
def test_auditors_see_every_event_with_its_meaning(client, demo, trail):
    client.force_login(demo["erin"])
    response = client.get(URL)
    assert rows(response) == newest_first(*trail.values())
    page = response.content.decode()
    assert "Rollout rolled back" in page
    assert '<a href="/proposals/1/">#1</a>' in page
    assert '<a href="/waivers/7/">Waiver #7</a>' in page
    assert "error_rate=0.004 p99=180ms" in page
    assert 'aria-current="page"' in page  # the navigation marks the audit page


@pytest.mark.django_db
def test_engineers_see_only_their_proposals_and_actions(client, demo, trail):
    client.force_login(demo["alice"])
    assert rows(client.get(URL)) == newest_first(
        trail["submitted_1"], trail["started_1"], trail["advanced_1"], trail["waiver_7"]
    )


@pytest.mark.django_db
def test_filters_narrow_the_table_and_stay_in_the_form(client, demo, trail):
    client.force_login(demo["dave"])
    response = client.get(URL, {"code": ["RWG-001", "RWG-003"], "since": "2026-11-04"})
    assert rows(response) == [trail["rolled_back_2"].id]
    page = response.content.decode()
    # The kinds of event are checkboxes; the chosen ones stay checked.
    assert 'name="code" value="RWG-001" id="code-RWG-001" checked>' in page
    assert 'name="code" value="RWG-003" id="code-RWG-003" checked>' in page
    assert 'name="code" value="RWG-002" id="code-RWG-002">' in page
    assert "Kinds of event: 2 chosen" in page
    assert 'value="2026-11-04"' in page
    assert rows(client.get(URL, {"proposal": "1", "actor": "dave"})) == [trail["started_1"].id]
    assert rows(client.get(URL, {"waiver": "7"})) == [trail["waiver_7"].id]


@pytest.mark.django_db
def test_every_filter_has_a_label(client, demo):
    client.force_login(demo["erin"])
    page = client.get(URL).content.decode()
    for name in ("proposal", "waiver", "actor", "since", "until"):
        assert f'<label for="id_{name}">' in page
        assert f'id="id_{name}"' in page
    for code, meaning in EventCode.choices:
        assert f'<label for="code-{code}"><input type="checkbox" name="code" value="{code}"' in page
        assert meaning in page


@pytest.mark.django_db
def test_a_bad_filter_is_explained_not_a_crash(client, demo, trail):
    client.force_login(demo["erin"])
    response = client.get(URL, {"since": "last tuesday"})
    assert rows(response) == []
    page = response.content.decode()
    assert 'role="alert"' in page
    assert "Enter an ISO 8601 date" in page
    assert 'aria-invalid="true"' in page
    assert "Export CSV" not in page


@pytest.mark.django_db
def test_export_links_carry_the_current_filters(client, demo, trail):
    client.force_login(demo["erin"])
    page = client.get(URL, {"proposal": "1", "code": "RWG-001", "before": "999"}).content.decode()
    assert 'href="/api/v1/audit-events/export/?proposal=1&amp;code=RWG-001&amp;format=csv"' in page
    assert 'href="/api/v1/audit-events/export/?proposal=1&amp;code=RWG-001&amp;format=json"' in page
    unfiltered = client.get(URL).content.decode()
    assert 'href="/api/v1/audit-events/export/?format=csv"' in unfiltered


@pytest.mark.django_db
def test_the_export_link_works_with_the_browser_session(client, demo, trail):
    client.force_login(demo["alice"])
    response = client.get("/api/v1/audit-events/export/?format=csv&proposal=1")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1 + 3


@pytest.mark.django_db
def test_keyset_pages_walk_back_and_forth_in_constant_queries(
    client, demo, record, django_assert_num_queries
):
    events = [
        record(code=EventCode.PAUSED, proposal_id=1, occurred_at=at(1) + dt.timedelta(minutes=n))
        for n in range(120)
    ]
    client.force_login(demo["erin"])
    newest = [event.id for event in reversed(events)]

    first = client.get(URL, {"code": "RWG-002"})
    assert rows(first) == newest[:50]
    assert "Newer" not in first.content.decode()
    older = f"code=RWG-002&amp;before={newest[49]}"
    assert older in first.content.decode()

    # Session, user, permissions, the page, and the chain's check (its checkpoint,
    # the rows since, none; how many are left): the same however deep.
    with django_assert_num_queries(8):
        second = client.get(URL, {"code": "RWG-002", "before": newest[49]})
    assert rows(second) == newest[50:100]
    with django_assert_num_queries(8):
        last = client.get(URL, {"code": "RWG-002", "before": newest[99]})
    assert rows(last) == newest[100:]
    assert "Older" not in last.content.decode()

    back = client.get(URL, {"code": "RWG-002", "after": newest[100]})
    assert rows(back) == newest[50:100]
    assert f"after={newest[50]}" in back.content.decode()
