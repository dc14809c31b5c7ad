from django.urls import path, re_path

from gates.api import ArgoGateView, ArgoReportView, FlaggerGateView, FlaggerReportView
from gates.calls import READ_GATES, REPORT_GATES

# Only Flagger's hook types: anything else under gates/flagger/ is the API's 404.
urlpatterns = [
    re_path(
        rf"^gates/flagger/(?P<gate>{'|'.join(READ_GATES)})/$",
        FlaggerGateView.as_view(),
        name="gate-flagger",
    ),
    re_path(
        rf"^gates/flagger/(?P<gate>{'|'.join(REPORT_GATES)})/$",
        FlaggerReportView.as_view(),
        name="gate-flagger-report",
    ),
    path("gates/argo/<str:proposal_id>/", ArgoGateView.as_view(), name="gate-argo"),
    path("gates/argo/<str:proposal_id>/report/", ArgoReportView.as_view(), name="gate-argo-report"),
]
