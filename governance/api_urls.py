from django.urls import path
from rest_framework.routers import SimpleRouter

from governance.api import IncidentViewSet, ProposalIncidents

router = SimpleRouter()
router.register("incidents", IncidentViewSet, basename="incident")
urlpatterns = [
    path("proposals/<str:pk>/incidents/", ProposalIncidents.as_view(), name="proposal-incidents"),
    *router.urls,
]
