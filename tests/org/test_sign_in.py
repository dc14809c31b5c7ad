import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path

from config import urls as config_urls
from org.demo import DEMO_PASSWORD


def _forbidden(request):
    raise PermissionDenied


urlpatterns = [path("forbidden/", _forbidden), *config_urls.urlpatterns]


@pytest.mark.django_db
def test_sign_in_and_out(client, demo):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    # The navigation of an engineer: no report, which would refuse them.
    assert b">Reports<" not in home.content
    for label in (b"Proposals", b"Waivers", b"Audit"):
        assert label in home.content
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_wrong_password_is_refused(client, demo):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_service_account_cannot_sign_in_to_the_web(client, demo):
    demo["pipeline"].set_password("known")
    demo["pipeline"].save()
    response = client.post("/accounts/login/", {"username": "pipeline", "password": "known"})
    assert response.status_code == 200
    assert b"Service accounts use API tokens" in response.content


@pytest.mark.django_db
def test_pages_need_sign_in(client):
    response = client.get("/proposals/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.django_db
@pytest.mark.urls("tests.org.test_sign_in")
def test_permission_denied_page_is_friendly(client, demo):
    client.force_login(demo["alice"])
    response = client.get("/forbidden/")
    assert response.status_code == 403
    assert b"You may not do that" in response.content


@pytest.mark.django_db
def test_not_found_page_is_friendly(client, demo):
    client.force_login(demo["alice"])
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"There is nothing at this address" in response.content
