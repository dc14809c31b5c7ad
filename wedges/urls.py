from django.urls import path

from wedges import views

app_name = "proposals"
urlpatterns = [
    path("", views.proposal_list, name="list"),
    path("new/", views.proposal_create, name="create"),
    path("new/validate/", views.proposal_validate, name="validate"),
    path("new/ladder/", views.proposal_ladder, name="ladder"),
    path("approvals/", views.approvals_inbox, name="approvals"),
    path("<int:pk>/", views.proposal_detail, name="detail"),
    path("<int:pk>/live/", views.proposal_live, name="live"),
    path(
        "<int:pk>/<str:action>/",
        views.proposal_operate,
        name="operate",
    ),
]
