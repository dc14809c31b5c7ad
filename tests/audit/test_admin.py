import pytest

from audit.models import AuditEvent


@pytest.fixture
def admin_client_(client, demo):
    client.force_login(demo["admin"])
    return client


@pytest.mark.django_db
def test_the_admin_lists_events(admin_client_, trail):
    response = admin_client_.get("/admin/audit/auditevent/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Rollout rolled back" in page
    assert 'name="action"' not in page  # no bulk delete


@pytest.mark.django_db
def test_the_admin_is_read_only(admin_client_, trail):
    event = trail["advanced_1"]
    url = f"/admin/audit/auditevent/{event.id}/change/"
    page = admin_client_.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client_.post(url, {"reason": "edited"}).status_code == 403
    assert admin_client_.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client_.get(f"/admin/audit/auditevent/{event.id}/delete/").status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).reason == "criteria met"
