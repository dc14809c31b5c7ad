"""The policy versions page: every version side by side, the one in force, and the review.

Thin: read through ``policies.selectors``, write through ``policies.services``.
Everyone signed in reads it (it is the rulebook their rollouts are judged by);
section leads see the propose form, and the review buttons on a change that
is not their own.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from org.access import signed_in_user
from policies import rules, selectors, services
from policies.errors import NotAllowed, PolicyVersionInvalid, PolicyVersionRefused
from policies.forms import DecisionForm, ProposeForm
from policies.models import PolicyVersion, Status
from wedges.policy.thresholds import FIELDS, FLOOR, LABELS, amount

ACTIONS = ("approve", "reject", "withdraw")


def _rows(versions: list[PolicyVersion], in_force: int | None) -> list[dict[str, Any]]:
    rows = []
    for version in versions:
        changed = {c.field: c for c in selectors.changes_of(version, versions)}
        cells = []
        for name in FIELDS:
            label = LABELS[name][0]
            change = changed.get(name)
            cells.append(
                {
                    "label": label,
                    "value": amount(name, getattr(version, name)),
                    "was": amount(name, change.before) if change else "",
                }
            )
        rows.append(
            {
                "version": version,
                "cells": cells,
                "in_force": version.number == in_force,
                "changes": [
                    f"{LABELS[c.field][0]}: {amount(c.field, c.before)} → "
                    f"{amount(c.field, c.after)}"
                    for c in changed.values()
                ],
            }
        )
    return rows


def _page(
    request: HttpRequest, *, form: ProposeForm | None = None, status: int = 200
) -> HttpResponse:
    user = signed_in_user(request)
    now = timezone.now()
    versions = list(selectors.versions())
    current = selectors.in_force(now)
    latest = selectors.latest_approved()
    is_lead = rules.is_section_lead(user)
    pending = [v for v in versions if v.status == Status.PROPOSED]
    context = {
        "rows": _rows(versions, current.number if current else None),
        "in_force": current,
        "pending": pending,
        "labels": [LABELS[name][0] for name in FIELDS],
        "may_propose": is_lead,
        "reviews": [
            {
                "version": version,
                "may_decide": is_lead and version.proposed_by_id != user.pk,
                "may_withdraw": version.proposed_by_id == user.pk,
            }
            for version in pending
        ],
        "form": form or ProposeForm(base=latest.thresholds if latest else FLOOR),
        "decision_form": DecisionForm(),
    }
    return render(request, "policies/versions.html", context, status=status)


@login_required
def versions_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def propose(request: HttpRequest) -> HttpResponse:
    latest = selectors.latest_approved()
    form = ProposeForm(request.POST, base=latest.thresholds if latest else FLOOR)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    try:
        version = services.policy_version_propose(
            actor=signed_in_user(request),
            values=form.values(),
            rationale=form.cleaned_data.get("rationale") or "",
            effective_at=form.effective_time(),
        )
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except PolicyVersionInvalid as invalid:
        for problem in invalid.errors:
            form.add_error(problem.field if problem.field in form.fields else None, problem.message)
        return _page(request, form=form, status=400)
    except PolicyVersionRefused as refused:
        messages.error(request, refused.message)
        return redirect("policies:versions")
    messages.success(
        request,
        f"Policy version {version.number} was proposed; it takes effect once another section "
        "lead approves it.",
    )
    return redirect("policies:versions")


@login_required
@require_POST
def decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    number = pk  # a version is addressed by its number
    version = selectors.versions().filter(number=number).first()
    if version is None:
        raise Http404("No such policy version.")
    form = DecisionForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason") or ""
    user = signed_in_user(request)
    try:
        if action == "approve":
            services.policy_version_approve(version=version, actor=user, reason=reason)
            done = f"You approved policy version {number}."
        elif action == "reject":
            services.policy_version_reject(version=version, actor=user, reason=reason)
            done = f"You rejected policy version {number}."
        else:
            services.policy_version_withdraw(version=version, actor=user, reason=reason)
            done = f"You withdrew policy version {number}."
    except NotAllowed as refused:
        raise PermissionDenied(refused.message) from None
    except (PolicyVersionInvalid, PolicyVersionRefused) as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, done)
    return redirect("policies:versions")
