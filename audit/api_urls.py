from django.urls import path

from audit import api

urlpatterns = [
    path("audit-events/", api.AuditEventList.as_view(), name="audit-events"),
    path("audit-events/export/", api.AuditEventExport.as_view(), name="audit-events-export"),
]
