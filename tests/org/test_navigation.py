"""The main navigation offers each role what it may open, and nothing that would refuse it."""

import pytest

from org.context_processors import links_for

EXPECTED = {
    "alice": ["Dashboard", "Proposals", "Waivers", "Freezes", "Audit", "Policy", "API tokens"],
    "bob": [
        "Dashboard",
        "Proposals",
        "Approvals",
        "Waivers",
        "Freezes",
        "Audit",
        "Policy",
        "Reports",
        "API tokens",
    ],
    "carol": [
        "Dashboard",
        "Proposals",
        "Waivers",
        "Freezes",
        "Audit",
        "Policy",
        "Reports",
        "API tokens",
    ],
    "dave": [
        "Dashboard",
        "Proposals",
        "Approvals",
        "Waivers",
        "Freezes",
        "Audit",
        "Policy",
        "Reports",
        "API tokens",
    ],
    "erin": [
        "Dashboard",
        "Proposals",
        "Waivers",
        "Freezes",
        "Audit",
        "Policy",
        "Reports",
        "API tokens",
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("username", EXPECTED)
def test_each_role_is_offered_only_pages_that_open(client, demo, username):
    links = links_for(demo[username])
    assert [link.label for link in links] == EXPECTED[username]
    client.force_login(demo[username])
    for link in links:
        assert client.get(link.url).status_code == 200, link.url
    page = client.get("/").content.decode()
    assert ("My proposals" in page) == (username in ("alice", "bob", "dave"))
