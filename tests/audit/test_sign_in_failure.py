import pytest

from audit.chain import verify_chain
from audit.models import AuditEvent


@pytest.mark.django_db
def test_a_failed_sign_in_is_recorded_without_the_password(client, demo):
    response = client.post("/accounts/login/", {"username": "alice", "password": "hunter2-wrong"})
    assert response.status_code == 200
    event = AuditEvent.objects.get()
    assert event.code == "WDG-301"
    assert (event.actor, event.actor_label) == (None, "anonymous")
    assert event.data == {
        "username": "alice",
        "path": "/accounts/login/",
        "remote_addr": "127.0.0.1",
    }
    assert "hunter2" not in repr(AuditEvent.objects.values().get())
    assert verify_chain().verified == 1


@pytest.mark.django_db
def test_a_successful_sign_in_records_nothing(client, demo):
    from org.demo import DEMO_PASSWORD

    assert (
        client.post(
            "/accounts/login/", {"username": "alice", "password": DEMO_PASSWORD}
        ).status_code
        == 302
    )
    assert not AuditEvent.objects.exists()
