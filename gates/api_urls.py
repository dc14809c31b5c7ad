from django.urls import path

from gates.api import ArgoGateView, ArgoReportView, FlaggerGateView, FlaggerReportView
from gates.calls import READ_GATES, REPORT_GATES

# One URL per Flagger hook type (each its own operation in the OpenAPI
# document); anything else under gates/flagger/ is the API's 404.
urlpatterns = [
    *(
        path(
            f"gates/flagger/{gate}/",
            FlaggerGateView.as_view(),
            {"gate": gate},
            name=f"gate-flagger-{gate}",
        )
        for gate in READ_GATES
    ),
    *(
        path(
            f"gates/flagger/{gate}/",
            FlaggerReportView.as_view(),
            {"gate": gate},
            name=f"gate-flagger-{gate}",
        )
        for gate in REPORT_GATES
    ),
    path("gates/argo/<str:id>/", ArgoGateView.as_view(), name="gate-argo"),
    path("gates/argo/<str:id>/report/", ArgoReportView.as_view(), name="gate-argo-report"),
]
