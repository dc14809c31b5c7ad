"""/account/tokens/: people list, create and revoke their own tokens."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from org.models import ApiToken, Subsystem
from org.tokens import api_token_for, hash_key

pytestmark = pytest.mark.django_db
PAGE = "/account/tokens/"


def signed_in(client, demo, username: str = "alice"):
    client.force_login(demo[username])
    return client


def create(client, **fields):
    data = {"name": "ci", "scopes": ["proposals:write"], "expires_in": "90", **fields}
    return client.post(PAGE, data)


def shown_key(response) -> str:
    match = re.search(r'id="new-key"[^>]*>([^<]+)</textarea>', response.content.decode())
    assert match, "the new key is not on the page"
    return match.group(1)


def test_the_page_needs_sign_in(client):
    assert client.get(PAGE).status_code == 302


def test_the_navigation_links_to_it(client, demo):
    page = signed_in(client, demo).get("/")
    assert f'href="{PAGE}"'.encode() in page.content


def test_create_shows_the_key_once(client, demo):
    signed_in(client, demo)
    response = create(client, subsystems=[Subsystem.objects.get(slug="control-plane").pk])
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    key = shown_key(response)
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(key)
    assert (token.owner, token.name, token.scopes) == (demo["alice"], "ci", ["proposals:write"])
    assert [s.slug for s in token.subsystems.all()] == ["control-plane"]
    assert token.expires_at is not None
    # Listed from now on, never with its key.
    again = client.get(PAGE).content.decode()
    assert key not in again
    assert token.display_prefix in again
    assert "proposals:write" in again
    assert "Control plane" in again  # the subsystem by its name
    assert AuditEvent.objects.get(code="WDG-302").actor == demo["alice"]


def test_the_key_works_as_an_api_token(client, demo):
    key = shown_key(create(signed_in(client, demo), scopes=["admin"], expires_in="never"))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/proposals/").status_code == 200
    assert ApiToken.objects.get().expires_at is None


def test_only_the_scopes_the_roles_allow_are_offered_and_accepted(client, demo):
    signed_in(client, demo, "erin")  # the auditor: reads, never writes
    page = client.get(PAGE).content.decode()
    assert 'value="audit:read"' in page
    assert 'value="operate"' not in page
    assert 'value="metrics:write"' not in page
    response = create(client, scopes=["operate"])
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_bad_input_is_shown_next_to_the_form(client, demo):
    response = create(signed_in(client, demo), name="", scopes=[], expires_in="forever")
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Choose at least one scope." in html
    assert not ApiToken.objects.exists()


def test_list_shows_only_ones_own_tokens_with_their_state(client, demo):
    api_token_for(user=demo["bob"])
    mine = api_token_for(user=demo["alice"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {mine}")
    api.get("/api/v1/proposals/")
    html = signed_in(client, demo).get(PAGE).content.decode()
    assert html.count("token-active") == 1
    assert "Never" in html  # expiry
    token = ApiToken.objects.get(owner=demo["alice"])
    assert token.last_used_at is not None
    # In words, with the moment in the <time> element.
    assert f'<time datetime="{token.last_used_at.isoformat(timespec="seconds")}"' in html
    assert token.last_used_at.strftime("(%H:%M UTC)") in html


def test_revoke_asks_first_then_revokes(client, demo):
    key = api_token_for(user=demo["alice"])
    token = ApiToken.objects.get()
    url = f"/account/tokens/{token.pk}/revoke/"
    confirm = signed_in(client, demo).get(url)
    assert confirm.status_code == 200
    assert b"Revoke the token" in confirm.content
    assert ApiToken.objects.get().revoked_at is None
    done = client.post(url, follow=True)
    assert done.redirect_chain[-1][0] == PAGE
    assert "revoked: its key no longer works" in done.content.decode()
    assert "token-revoked" in done.content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/proposals/").status_code == 401
    assert AuditEvent.objects.get(code="WDG-303").actor == demo["alice"]


def test_nobody_revokes_anothers_token(client, demo):
    api_token_for(user=demo["bob"])
    token = ApiToken.objects.get()
    url = f"/account/tokens/{token.pk}/revoke/"
    signed_in(client, demo, "dave")
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    assert ApiToken.objects.get().revoked_at is None
