"""``signed_in_user``: the one helper that narrows a request's user, for pages and the API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import force_authenticate

from org.access import signed_in_user

pytestmark = pytest.mark.django_db


def page_request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def api_request(user):
    request = RequestFactory().get("/api/v1/")
    force_authenticate(request, user=user)
    return Request(request)


@pytest.mark.parametrize("make", [page_request, api_request])
def test_the_signed_in_user_of_a_page_or_an_api_call(demo, make):
    assert signed_in_user(make(demo["alice"])) == demo["alice"]


def test_an_anonymous_request_is_refused():
    with pytest.raises(PermissionDenied):
        signed_in_user(page_request(AnonymousUser()))
