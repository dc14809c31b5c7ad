from django.urls import path

from freezes import views

# Mounted at /freezes/ (namespace "freezes").
app_name = "freezes"
urlpatterns = [
    path("", views.freeze_list, name="list"),
    path("<int:pk>/end/", views.freeze_end, name="end"),
]
