from django.urls import path
from rest_framework.routers import SimpleRouter

from providers.api import AlertmanagerReceiver, MetricProviderViewSet

router = SimpleRouter()
router.register("metric-providers", MetricProviderViewSet, basename="metric-provider")
urlpatterns = [
    path("alerts/alertmanager/", AlertmanagerReceiver.as_view(), name="alertmanager"),
    *router.urls,
]
