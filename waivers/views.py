"""Pages for waivers: list and inbox, request form, and the waiver page with its decisions.

Thin: each view parses its input, calls one service and renders. Who may do
what is decided by the services (a refusal of the role is a 403 here too);
the pages only use ``rules.allowed_actions`` to decide which forms to show.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from config.ids import object_id
from org import access
from org.access import signed_in_user
from org.models import User
from waivers import rules, selectors, services
from waivers.errors import NotAllowed, WaiverInvalid, WaiverRuleError
from waivers.filters import WaiverFilter
from waivers.forms import CommentForm, ReasonForm, WaiverRequestForm
from waivers.models import WaiverRequest

PAGE_SIZE = 25


def _list(request: HttpRequest, *, inbox: bool) -> HttpResponse:
    user = signed_in_user(request)
    queryset = selectors.visible_waivers(user)
    inbox = inbox or request.GET.get("awaiting") == "me"
    if inbox:
        if not access.can_review_waivers(user):
            raise PermissionDenied("Only section leads and reviewers approve waivers.")
        queryset = selectors.awaiting(queryset, user)
    filters = WaiverFilter(request.GET, queryset=queryset, request=request)
    page = Paginator(filters.qs if filters.is_valid() else queryset.none(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "waivers/waiver_list.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "inbox": inbox,
            "can_review": access.can_review_waivers(user),
            "can_request": access.can_submit(user),
        },
    )


@login_required
def waiver_list(request: HttpRequest) -> HttpResponse:
    return _list(request, inbox=False)


@login_required
def waiver_inbox(request: HttpRequest) -> HttpResponse:
    """The open waivers the user could approve now ("Awaiting my approval")."""
    return _list(request, inbox=True)


def _requestable(request: HttpRequest, user: User) -> Any:
    """The proposals the form offers: the user's own, plus one named in the URL or the POST."""
    now = timezone.now()
    wanted = request.POST.get("proposal") or request.GET.get("proposal") or ""
    own = Q(author=user)
    number = object_id(wanted)
    if number is not None and access.can_submit(user):
        own |= Q(pk=number)
    return selectors.requestable_proposals(user, now, extra=own)


@login_required
def waiver_create(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    proposals = _requestable(request, user)
    if not access.can_submit(user) and not proposals.exists():
        raise PermissionDenied("Only engineers, or the author of a proposal, may request waivers.")
    if request.method != "POST":
        initial: dict[str, Any] = {"duration_days": 30}
        wanted = object_id(request.GET.get("proposal", ""))
        if wanted is not None and proposals.filter(pk=wanted).exists():
            initial["proposal"] = wanted
        form = WaiverRequestForm(initial=initial, proposals=proposals)
        return render(request, "waivers/waiver_form.html", {"form": form})
    form = WaiverRequestForm(request.POST, proposals=proposals)
    if form.is_valid():
        try:
            waiver = services.waiver_request(requester=user, **form.service_arguments())
        except NotAllowed as refused:
            raise PermissionDenied(refused.message) from None
        except WaiverInvalid as invalid:
            form.add_service_errors(invalid)
        except WaiverRuleError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(
                request,
                f"Waiver #{waiver.pk} was requested; it needs the approval of a lead of the "
                f"{waiver.subsystem.section.name} section and one more reviewer.",
            )
            return redirect("waivers:detail", pk=waiver.pk)
    return render(request, "waivers/waiver_form.html", {"form": form}, status=400)


def _visible(request: HttpRequest, pk: int) -> WaiverRequest:
    waiver: WaiverRequest = get_object_or_404(selectors.visible_waivers(request.user), pk=pk)
    return waiver


def _detail(
    request: HttpRequest,
    waiver: WaiverRequest,
    *,
    forms: dict[str, Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = signed_in_user(request)
    approvals = list(waiver.approvals.all())
    context: dict[str, Any] = {
        "waiver": waiver,
        "approvals": approvals,
        "covered": list(waiver.covered_proposals.all()),
        "trail": list(selectors.waiver_trail(waiver.pk, user)),
        "allowed": rules.allowed_actions(waiver, user, approvals),
        "is_active": waiver.is_active_at(timezone.now()),
        "approve_form": CommentForm(prefix="approve"),
        "reject_form": ReasonForm(prefix="reject"),
        "revoke_form": ReasonForm(prefix="revoke"),
        **(forms or {}),
    }
    return render(request, "waivers/waiver_detail.html", context, status=status)


@login_required
def waiver_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _visible(request, pk))


def _decide(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[Form],
    prefix: str,
    act: Callable[[WaiverRequest, User, dict[str, Any]], WaiverRequest],
    done: str,
) -> HttpResponse:
    waiver = _visible(request, pk)
    form = form_class(request.POST, prefix=prefix)
    form.is_valid()  # optional text fields: only their cleaning matters
    try:
        act(waiver, signed_in_user(request), form.cleaned_data)
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except WaiverInvalid as invalid:
        for problem in invalid.errors:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        fresh = _visible(request, pk)
        return _detail(request, fresh, forms={f"{prefix}_form": form}, status=400)
    except WaiverRuleError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, done.format(pk=waiver.pk))
    return redirect("waivers:detail", pk=waiver.pk)


@login_required
@require_POST
def waiver_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        form_class=CommentForm,
        prefix="approve",
        act=lambda waiver, user, data: services.waiver_approve(
            waiver=waiver, approver=user, comment=data.get("comment", "")
        ),
        done="You approved waiver #{pk}.",
    )


@login_required
@require_POST
def waiver_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        form_class=ReasonForm,
        prefix="reject",
        act=lambda waiver, user, data: services.waiver_reject(
            waiver=waiver, approver=user, reason=data.get("reason", "")
        ),
        done="You rejected waiver #{pk}.",
    )


@login_required
@require_POST
def waiver_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(
        request,
        pk,
        form_class=ReasonForm,
        prefix="revoke",
        act=lambda waiver, user, data: services.waiver_revoke(
            waiver=waiver, actor=user, reason=data.get("reason", "")
        ),
        done="You revoked waiver #{pk}.",
    )
