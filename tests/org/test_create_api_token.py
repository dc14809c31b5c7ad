import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from org.models import ApiToken
from org.tokens import hash_key


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


def works(api_client, key: str) -> bool:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get("/api/v1/proposals/").status_code == 200


@pytest.mark.django_db
def test_prints_only_the_key_of_a_full_rights_token(demo, api_client):
    printed = run("pipeline")
    key = printed.strip()
    assert printed == key + "\n"
    token = ApiToken.objects.get(owner=demo["pipeline"])
    assert token.key_hash == hash_key(key)
    assert key not in str(ApiToken.objects.values().get())  # stored hashed only
    assert (token.scopes, list(token.subsystems.all()), token.expires_at) == (["admin"], [], None)
    assert works(api_client, key)


@pytest.mark.django_db
def test_each_run_issues_another_working_key(demo, api_client):
    # Keys are kept only as hashes, so an earlier key cannot be printed again.
    first, second = run("pipeline").strip(), run("pipeline").strip()
    assert first != second
    assert works(api_client, first)
    assert works(api_client, second)


@pytest.mark.django_db
def test_rotate_replaces_the_token_of_that_name(demo, api_client):
    old = run("pipeline").strip()
    kept = run("pipeline", "--name", "nightly").strip()
    new = run("pipeline", "--rotate").strip()
    assert new != old
    assert not works(api_client, old)
    assert works(api_client, new)
    assert works(api_client, kept)


@pytest.mark.django_db
def test_scoped_token_for_one_subsystem_with_an_expiry(demo):
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        run(
            "pipeline",
            "--scope",
            "metrics:write",
            "--scope",
            "desired-state:read",
            "--subsystem",
            "connector-runtime",
            "--expires-in",
            "90d",
            "--name",
            "fleet agent",
        )
    token = ApiToken.objects.get(name="fleet agent")
    assert token.scopes == ["metrics:write", "desired-state:read"]
    assert [s.slug for s in token.subsystems.all()] == ["connector-runtime"]
    assert token.expires_at == now + dt.timedelta(days=90)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody"], "No user named 'nobody'"),
        (["pipeline", "--subsystem", "nowhere"], "No subsystem 'nowhere'"),
        (["pipeline", "--expires-in", "soon"], "Not a lifetime: 'soon'"),
        (["pipeline", "--expires-in", "0d"], "Not a lifetime"),
        (["pipeline", "--expires-in", "99999w"], "longer than ten years"),
        # The pipeline is an engineer: it may not operate, so its tokens may not either.
        (["pipeline", "--scope", "operate"], "roles do not allow operate"),
        (["erin", "--scope", "metrics:write"], "roles do not allow metrics:write"),
    ],
)
def test_refusals_are_errors(demo, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_unknown_scope_is_refused_by_the_parser(demo):
    with pytest.raises(CommandError, match="invalid choice: 'root'"):
        run("pipeline", "--scope", "root")


@pytest.mark.django_db
def test_issuing_and_rotating_are_audited_without_the_key(demo):
    from audit.models import AuditEvent

    key = run("pipeline").strip()
    rotated = run("pipeline", "--rotate", "--scope", "metrics:write").strip()
    issued = list(AuditEvent.objects.filter(code="WDG-302").order_by("id"))
    assert [(e.actor.username, e.data["rotated"], e.data["scopes"]) for e in issued] == [
        ("pipeline", False, ["admin"]),
        ("pipeline", True, ["metrics:write"]),
    ]
    revoked = AuditEvent.objects.get(code="WDG-303")
    assert revoked.data["token"] == ApiToken.objects.get(key_hash=hash_key(key)).pk
    assert revoked.reason == "rotated"
    for event in AuditEvent.objects.all():
        assert key not in str(event.data)
        assert rotated not in str(event.data)
