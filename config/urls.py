from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config.api.errors import api_not_found, bad_request
from org import views as org_views
from wedges import views as wedge_views

api_v1: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: the CSP allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("", include("wedges.api_urls")),
    path("", include("webhooks.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("waivers.api_urls")),
    path("", include("governance.api_urls")),
    path("", include("policies.api_urls")),
    path("", include("providers.api_urls")),
    path("", include("gates.api_urls")),
    path("", include("freezes.api_urls")),
    # Anything else under /api/v1/ is a 404 in the API's error shape, not a page.
    re_path(r"^.*$", api_not_found, name="not-found"),
]

urlpatterns = [
    path("", wedge_views.dashboard, name="dashboard"),
    path("accounts/login/", org_views.SignInView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", include("org.urls")),
    path("healthz", org_views.healthz, name="healthz"),
    path("api/v1/", include((api_v1, "api"))),
    path("proposals/", include("wedges.urls")),
    path("waivers/", include("waivers.urls")),
    path("audit/", include("audit.urls")),
    path("reports/", include("governance.urls")),
    path("policy/", include("policies.urls")),
    path("metrics/", include("providers.urls")),
    path("canaries/", include("gates.urls")),
    path("freezes/", include("freezes.urls")),
    path("admin/", admin.site.urls),
]

# Refused before any view (a bad Host header): JSON under /api/, the page elsewhere.
handler400 = bad_request
