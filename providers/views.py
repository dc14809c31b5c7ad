"""The proposal page's metric queries panel, refreshed on its own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from providers.selectors import queries_panel
from wedges import selectors


@login_required
def proposal_queries(request: HttpRequest, pk: int) -> HttpResponse:
    """HTMX: the panel of one proposal; 404 for a proposal the user may not read."""
    proposal = get_object_or_404(selectors.readable_proposals(request.user), pk=pk)
    return render(request, "providers/_queries_panel.html", {"panel": queries_panel(proposal)})
