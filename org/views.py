from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from org.forms import SignInForm
from org.health import check_all


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    parts = check_all()
    down = [part.name for part in parts if not part.ok]
    body = {
        "status": "ok" if not down else "down",
        "down": down,
        "parts": {part.name: {"ok": part.ok, "detail": part.detail} for part in parts},
    }
    return JsonResponse(body, status=503 if down else 200)
