from django.urls import path

from gates import views

app_name = "gates"
urlpatterns = [
    path("<int:pk>/detach/", views.canary_detach, name="detach"),
]
