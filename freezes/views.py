"""Pages: the list of change freezes with the declare form, and ending one.

Thin: parse the input, call the service, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from freezes import rules, selectors, services
from freezes.errors import FreezeInvalid, NotAllowed, Refused
from freezes.forms import EndForm, FreezeForm
from org import humane
from org.access import signed_in_user


@login_required
def freeze_list(request: HttpRequest) -> HttpResponse:
    """``/freezes/``: every freeze, and for section leads the form that declares one."""
    now = timezone.now()
    can_declare = rules.may_declare_any(request.user)
    subsystems = rules.lead_subsystems(request.user) if can_declare else []
    status = 200
    if request.method == "POST":
        if not can_declare:
            raise PermissionDenied(services.NOT_A_LEAD_MESSAGE)
        # A subsystem of another section is refused as the API refuses it, not as a typo.
        offered = {subsystem.slug for subsystem in subsystems}
        if not set(request.POST.getlist("subsystems")) <= offered:
            raise PermissionDenied("You may freeze only the subsystems of the sections you lead.")
        form = FreezeForm(request.POST, subsystems=subsystems)
        if form.is_valid():
            try:
                freeze = services.freeze_declare(
                    actor=signed_in_user(request), now=now, **form.service_arguments()
                )
            except NotAllowed as refused:
                raise PermissionDenied(refused.message) from None
            except FreezeInvalid as invalid:
                form.add_service_errors(invalid)
            else:
                messages.success(
                    request,
                    f"Freeze #{freeze.pk} declared: from {humane.clock(freeze.starts_at, now)} "
                    f"to {humane.clock(freeze.ends_at, now)}.",
                )
                return redirect("freezes:list")
        status = 400
    else:
        start = now.replace(second=0, microsecond=0)
        form = FreezeForm(subsystems=subsystems, initial={"starts_at": start})
    freezes = list(selectors.freezes().order_by("-starts_at", "-id")[:200])
    rows = [
        {
            "freeze": freeze,
            "status": freeze.status_at(now),
            "can_end": freeze.status_at(now) in ("scheduled", "in_force")
            and rules.may_freeze(
                request.user,
                whole_organisation=freeze.whole_organisation,
                subsystems=freeze.subsystems.all(),
            ),
        }
        for freeze in freezes
    ]
    return render(
        request,
        "freezes/freeze_list.html",
        {"rows": rows, "form": form if can_declare else None, "now": now},
        status=status,
    )


@login_required
@require_POST
def freeze_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a freeze early, or cancel one not yet started (the list's buttons post here)."""
    freeze = get_object_or_404(selectors.freezes(), pk=pk)
    form = EndForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.freeze_end(freeze_id=freeze.pk, actor=signed_in_user(request), reason=reason)
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except (Refused, FreezeInvalid) as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Freeze #{freeze.pk} ({freeze.reason}) ended.")
    return redirect("freezes:list")
