"""Token authentication: hashed keys, expiry, revocation, last use, and their audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from audit.models import AuditEvent
from org.models import ApiToken, Scope
from org.tokens import api_token_for, hash_key, token_issue, token_revoke

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
URL = "/api/v1/proposals/"


def call(key: str, url: str = URL) -> tuple[int, dict]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(url)
    return response.status_code, response.json() if response.content else {}


def error_code(body: dict) -> str:
    return str(body["errors"][0]["code"])


def test_keys_are_long_random_and_stored_only_as_a_hash(demo):
    key = api_token_for(user=demo["alice"])
    assert key.startswith("wdg_")
    assert len(key) == 47
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(key)
    assert token.key_prefix == key[:12]
    assert key not in repr(ApiToken.objects.values().get())
    assert call(key)[0] == 200


@pytest.mark.parametrize(
    "key",
    [
        "not-a-real-token",
        "wdg_" + "A" * 43,  # the right shape, no such key
        "x" * 5000,
        "wdg_\u00e9t\u00e9",
    ],
)
def test_unknown_keys_are_401(demo, key):
    status, body = call(key)
    assert status == 401
    assert error_code(body) == "authentication_failed"


def test_a_key_sharing_the_prefix_of_another_is_still_refused(demo):
    key = api_token_for(user=demo["alice"])
    status, _ = call(key[:-1] + ("A" if key[-1] != "A" else "B"))
    assert status == 401


def test_malformed_headers_are_401(demo, api_client):
    for header in ("Token", "Token a b", "Token \x00"):
        api_client.credentials(HTTP_AUTHORIZATION=header)
        response = api_client.get(URL)
        assert response.status_code == 401, header
        assert "errors" in response.json()


def test_expiry_edges(demo):
    with time_machine.travel(NOW, tick=False):
        issued = token_issue(
            owner=demo["alice"], actor=demo["alice"], expires_at=NOW + dt.timedelta(days=90)
        )
    expiry = NOW + dt.timedelta(days=90)
    with time_machine.travel(expiry - dt.timedelta(seconds=1), tick=False):
        assert call(issued.key)[0] == 200
    with time_machine.travel(expiry, tick=False):
        status, body = call(issued.key)
        assert (status, error_code(body)) == (401, "token_expired")
    with time_machine.travel(expiry + dt.timedelta(days=1), tick=False):
        assert call(issued.key)[0] == 401


def test_revoked_tokens_are_refused_and_their_use_audited_once_an_hour(demo):
    with time_machine.travel(NOW, tick=False):
        issued = token_issue(owner=demo["alice"], actor=demo["alice"], name="ci")
        token_revoke(token_id=issued.token.pk, actor=demo["alice"])
    revoked = AuditEvent.objects.get(code="WDG-303")
    assert (revoked.actor, revoked.data["name"]) == (demo["alice"], "ci")

    def refused_events() -> int:
        return AuditEvent.objects.filter(code="WDG-304").count()

    for minute in (1, 2, 59):
        with time_machine.travel(NOW + dt.timedelta(minutes=minute), tick=False):
            status, body = call(issued.key)
            assert (status, error_code(body)) == (401, "token_revoked")
    assert refused_events() == 1
    event = AuditEvent.objects.get(code="WDG-304")
    assert event.actor is None
    assert event.reason == "revoked"
    assert event.data == {
        "user": "alice",
        "token": issued.token.pk,
        "name": "ci",
        "remote_addr": "127.0.0.1",
    }
    with time_machine.travel(NOW + dt.timedelta(minutes=61), tick=False):
        call(issued.key)
    assert refused_events() == 2


def test_the_use_of_an_expired_token_is_audited_too(demo):
    with time_machine.travel(NOW, tick=False):
        issued = token_issue(
            owner=demo["alice"], actor=demo["alice"], expires_at=NOW + dt.timedelta(hours=1)
        )
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        call(issued.key)
    assert AuditEvent.objects.get(code="WDG-304").reason == "expired"


def test_revoking_twice_records_once(demo):
    issued = token_issue(owner=demo["alice"], actor=demo["alice"])
    token_revoke(token_id=issued.token.pk, actor=demo["alice"])
    token_revoke(token_id=issued.token.pk, actor=demo["alice"])
    assert AuditEvent.objects.filter(code="WDG-303").count() == 1


def test_nobody_revokes_anothers_token_but_an_administrator(demo):
    from org.tokens import TokenNotFound

    issued = token_issue(owner=demo["alice"], actor=demo["alice"])
    with pytest.raises(TokenNotFound):
        token_revoke(token_id=issued.token.pk, actor=demo["dave"])
    token_revoke(token_id=issued.token.pk, actor=demo["admin"], as_administrator=True)
    assert AuditEvent.objects.get(code="WDG-303").reason == "revoked by an administrator"
    assert call(issued.key)[0] == 401


def test_last_use_is_written_at_most_once_a_minute(demo):
    with time_machine.travel(NOW, tick=False):
        issued = token_issue(owner=demo["alice"], actor=demo["alice"])
        assert ApiToken.objects.get().last_used_at is None
        call(issued.key)
    assert ApiToken.objects.get().last_used_at == NOW
    with time_machine.travel(NOW + dt.timedelta(seconds=59), tick=False):
        call(issued.key)
    assert ApiToken.objects.get().last_used_at == NOW
    with time_machine.travel(NOW + dt.timedelta(seconds=60), tick=False):
        call(issued.key)
    assert ApiToken.objects.get().last_used_at == NOW + dt.timedelta(seconds=60)


def test_a_token_of_a_deactivated_user_stops_working(demo):
    key = api_token_for(user=demo["alice"])
    demo["alice"].is_active = False
    demo["alice"].save()
    assert call(key)[0] == 401


def test_the_hot_path_costs_one_query_for_the_token(demo, django_assert_max_num_queries, submit):
    # desired-state is what agents poll: token lookup (owner and subsystem
    # limit in the same query), the owner's permissions in one read, and the
    # wedge with its open stage's id; last use is already fresh.
    proposal = submit("alice")
    key = api_token_for(user=demo["dave"])
    call(key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    with django_assert_max_num_queries(3):  # token, permissions, wedge
        assert client.get(f"/api/v1/proposals/{proposal.pk}/desired-state/").status_code == 200


def test_issuing_is_audited_with_the_scopes_and_subsystems_but_not_the_key(demo):
    from org.models import Subsystem

    issued = token_issue(
        owner=demo["pipeline"],
        actor=demo["pipeline"],
        name="agent",
        scopes=[Scope.METRICS_WRITE],
        subsystems=Subsystem.objects.filter(slug="control-plane"),
        expires_at=NOW + dt.timedelta(days=400),
    )
    event = AuditEvent.objects.get(code="WDG-302")
    assert event.data == {
        "user": "pipeline",
        "rotated": False,
        "token": issued.token.pk,
        "name": "agent",
        "scopes": ["metrics:write"],
        "subsystems": ["control-plane"],
        "expires_at": "2028-01-05T12:00:00+00:00",
    }
    assert issued.key not in repr(AuditEvent.objects.values().get())


def test_the_owner_s_permissions_read_at_once_are_what_django_would_read(demo):
    """``find_token`` fills the permission cache in one query; has_perm answers as before."""
    from django.contrib.auth.models import Permission

    from org.tokens import find_token

    carol = demo["carol"]
    extra = Permission.objects.get(codename="view_auditevent")
    carol.user_permissions.add(extra)  # one of her own, beside her groups'
    key = api_token_for(user=carol)
    token = find_token(key)
    assert token is not None
    fresh = type(carol).objects.get(pk=carol.pk)
    assert token.owner._perm_cache == fresh.get_all_permissions()
    assert "audit.view_auditevent" in token.owner._perm_cache
