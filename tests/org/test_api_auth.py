import pytest


@pytest.mark.django_db
def test_unauthenticated_api_call_is_401_in_the_error_shape(api_client):
    response = api_client.get("/api/v1/schema/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "errors": [
            {
                "field": None,
                "code": "not_authenticated",
                "message": "Authentication credentials were not provided.",
            }
        ]
    }


@pytest.mark.django_db
def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/v1/schema/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "authentication_failed"


@pytest.mark.django_db
def test_token_returns_the_openapi_document(token_client):
    response = token_client("pipeline").get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")


@pytest.mark.django_db
def test_docs_page_serves_its_assets_locally(client, demo):
    client.force_login(demo["alice"])
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    for cdn in ("//cdn", "unpkg", "jsdelivr"):
        assert cdn not in html
