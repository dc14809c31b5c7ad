from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from org.forms import SignInForm
from org.health import check_all


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class PlaceholderView(LoginRequiredMixin, TemplateView):
    """A page whose feature has not landed yet; keeps the navigation whole."""

    template_name = "placeholder.html"
    title = ""

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "title": self.title}


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
