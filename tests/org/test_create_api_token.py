import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_prints_only_the_token_and_reuses_it(demo):
    first = run("pipeline")
    assert first.strip() == Token.objects.get(user=demo["pipeline"]).key
    assert first == first.strip() + "\n"
    assert run("pipeline") == first


@pytest.mark.django_db
def test_rotate_replaces_the_token(demo, api_client):
    old = run("pipeline").strip()
    new = run("pipeline", "--rotate").strip()
    assert new != old
    assert Token.objects.filter(user=demo["pipeline"]).count() == 1
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/v1/schema/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api_client.get("/api/v1/schema/").status_code == 200


@pytest.mark.django_db
def test_unknown_user_is_an_error(demo):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        run("nobody")


@pytest.mark.django_db
def test_issuing_and_rotating_are_audited_without_the_key(demo):
    from audit.models import AuditEvent

    key = run("pipeline").strip()
    run("pipeline")  # the same token again: nothing new happened
    rotated = run("pipeline", "--rotate").strip()
    events = list(AuditEvent.objects.filter(code="WDG-302").order_by("id"))
    assert [(e.actor.username, e.data["rotated"]) for e in events] == [
        ("pipeline", False),
        ("pipeline", True),
    ]
    for event in events:
        assert key not in str(event.data)
        assert rotated not in str(event.data)
