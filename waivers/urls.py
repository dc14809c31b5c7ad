from django.urls import path

from waivers import views

app_name = "waivers"
urlpatterns = [
    path("", views.waiver_list, name="list"),
    path("inbox/", views.waiver_inbox, name="inbox"),
    path("new/", views.waiver_create, name="create"),
    path("<int:pk>/", views.waiver_detail, name="detail"),
    path("<int:pk>/approve/", views.waiver_approve, name="approve"),
    path("<int:pk>/reject/", views.waiver_reject, name="reject"),
    path("<int:pk>/revoke/", views.waiver_revoke, name="revoke"),
]
