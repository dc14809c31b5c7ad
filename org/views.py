from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from config.refusals import ServiceError
from org.access import signed_in_user
from org.forms import ApiTokenForm, SignInForm
from org.health import check_all, health_report
from org.models import ApiToken
from org.tokens import token_issue, token_revoke


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


def sign_in_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """The sign-in page while django-axes refuses sign-in (AXES_LOCKOUT_CALLABLE).

    The same words whether or not the user name exists, so the lockout does
    not tell which accounts there are.
    """
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "form": SignInForm(request),
        "next": request.POST.get("next", ""),
        "locked_out_minutes": minutes,
    }
    return render(request, "registration/login.html", context, status=429)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    body = health_report(check_all(), detailed=request.user.is_staff)
    return JsonResponse(body, status=503 if body["status"] == "down" else 200)


def _own_tokens(request: HttpRequest) -> Any:
    return (
        ApiToken.objects.filter(owner=signed_in_user(request))
        .select_related("revoked_by")
        .prefetch_related("subsystems")
    )


@never_cache  # the page may carry a key: no cache may keep it
@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's tokens; a POST creates one and shows its key this once."""
    user = signed_in_user(request)
    form = ApiTokenForm(request.POST or None, user=user)
    created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            created = token_issue(
                owner=user,
                actor=user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                subsystems=form.cleaned_data["subsystems"],
                expires_at=form.expires_at(timezone.now()),
            )
        except ServiceError as refusal:
            form.add_error(None, refusal.message)
        else:
            form = ApiTokenForm(user=user)
            status = 201
    elif request.method == "POST":
        status = 400
    now = timezone.now()
    tokens = list(_own_tokens(request))
    for token in tokens:
        token.current_state = token.state(now)
    response = render(
        request,
        "org/api_tokens.html",
        {"form": form, "created": created, "tokens": tokens},
        status=status,
    )
    return response


@login_required
@require_http_methods(["GET", "POST"])
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm (GET), then revoke (POST) one of the user's own tokens."""
    token = get_object_or_404(_own_tokens(request), pk=pk)
    if request.method == "POST":
        token_revoke(token_id=token.pk, actor=signed_in_user(request))
        messages.success(request, f"Token “{token.name}” revoked: its key no longer works.")
        return redirect("account:tokens")
    return render(request, "org/api_token_revoke.html", {"token": token})
