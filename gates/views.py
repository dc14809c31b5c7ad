"""The page action of the gates: an operator detaches a canary from its proposal."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from config.refusals import NotAllowed, Refused
from gates import services
from gates.models import CanaryBinding
from org.access import signed_in_user
from wedges.forms import OperatorActionForm
from wedges.selectors import visible_proposals


@login_required
@require_POST
def canary_detach(request: HttpRequest, pk: int) -> HttpResponse:
    binding = CanaryBinding.objects.filter(
        pk=pk, proposal__in=visible_proposals(request.user)
    ).first()
    if binding is None:
        raise Http404("No such canary.")
    form = OperatorActionForm(request.POST)
    reason = form.cleaned_data["reason"].strip() if form.is_valid() else ""
    if not reason:
        messages.error(request, "Give a reason of at most 2,000 characters.")
        return redirect("proposals:detail", pk=binding.proposal_id)
    try:
        services.canary_detach(binding_id=pk, actor=signed_in_user(request), reason=reason)
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except Refused as refused:
        messages.error(request, f"Refused: {refused.message}")
    else:
        messages.success(
            request,
            f"The wedge no longer waits for {binding.label}; if it calls again, it is back.",
        )
    return redirect("proposals:detail", pk=binding.proposal_id)
