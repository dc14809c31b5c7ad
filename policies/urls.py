from django.urls import path

from policies import views

# Mounted at /policy/ (namespace "policies").
app_name = "policies"
urlpatterns = [
    path("", views.versions_page, name="versions"),
    path("propose/", views.propose, name="propose"),
    path("<int:pk>/<str:action>/", views.decide, name="decide"),
]
