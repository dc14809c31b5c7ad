from django.urls import path

from providers import views

app_name = "providers"
urlpatterns = [
    path("proposals/<int:pk>/queries/", views.proposal_queries, name="proposal_queries"),
]
