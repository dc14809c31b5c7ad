from django.urls import path

from org import views

app_name = "account"

urlpatterns = [
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke, name="token-revoke"),
]
