"""The admin shows waivers and their approvals, and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_admin_lists_and_shows_waivers_read_only(login, single_stage, request_waiver, approve):
    waiver = approve(request_waiver(proposal=single_stage()), "bob", "carol")
    admin = login("admin")
    listing = admin.get(reverse("admin:waivers_waiverrequest_changelist"))
    assert listing.status_code == 200
    assert f"{waiver.pk}" in listing.content.decode()
    page = admin.get(reverse("admin:waivers_waiverrequest_change", args=[waiver.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Approved" in content
    assert "carol" in content  # the approvals inline
    assert 'name="state"' not in content  # state is read-only
    assert admin.get(reverse("admin:waivers_waiverrequest_add")).status_code == 403
    assert admin.get(reverse("admin:waivers_waiverapproval_changelist")).status_code == 200
    response = admin.post(
        reverse("admin:waivers_waiverrequest_delete", args=[waiver.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
