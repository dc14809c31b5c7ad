from django.urls import path

from governance import views

# Mounted at /reports/ (namespace "reports").
app_name = "reports"
urlpatterns = [
    path("governance/", views.report_page, name="governance"),
    path("proposals/<int:pk>/incidents/new/", views.incident_create, name="incident_create"),
    path("incidents/import/", views.incident_import, name="incident_import"),
]
