"""The main navigation: each person sees the pages their roles let them use, nothing else.

A link that would answer 403 is worse than no link, and a link to "my
proposals" means nothing to someone who cannot submit any. Permissions are
still checked by every view; this only decides what is offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from org import access


@dataclass(frozen=True)
class Link:
    url_name: str
    label: str
    query: str = ""

    @property
    def url(self) -> str:
        return reverse(self.url_name) + (f"?{self.query}" if self.query else "")


def links_for(user: Any) -> list[Link]:
    """The navigation of ``user``, in page order."""
    if not user.is_authenticated:
        return []
    links = [Link("dashboard", "Dashboard"), Link("proposals:list", "Proposals")]
    if access.can_operate_anything(user):
        links.append(Link("proposals:approvals", "Approvals"))
    links.append(Link("waivers:list", "Waivers"))
    links.append(Link("freezes:list", "Freezes"))
    links.append(Link("audit:list", "Audit"))
    links.append(Link("policies:versions", "Policy"))
    if access.can_view_all(user):
        links.append(Link("reports:governance", "Reports"))
    links.append(Link("account:tokens", "API tokens"))
    return links


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None:
        return {"navigation": []}
    current = request.path
    return {
        "navigation": [
            {"url": link.url, "label": link.label, "current": link.url == current}
            for link in links_for(user)
        ]
    }
