from __future__ import annotations

from typing import Any

from django.http import HttpRequest

NAVIGATION = (
    ("dashboard", "Dashboard"),
    ("proposals:list", "Proposals"),
    ("waivers:list", "Waivers"),
    ("audit:list", "Audit"),
    ("reports:governance", "Reports"),
)


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"navigation": NAVIGATION}
