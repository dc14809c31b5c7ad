"""The admin names things as people do: "Webhook deliveries", "API tokens"."""

import pytest


@pytest.mark.django_db
def test_the_admin_index_uses_proper_names(client, demo):
    client.force_login(demo["admin"])
    page = client.get("/admin/").content.decode()
    for name in ("Webhook deliveries", "Webhook subscriptions", "Outbox events", "API tokens"):
        assert name in page
    assert "Deliverys" not in page
    assert "Api tokens" not in page
