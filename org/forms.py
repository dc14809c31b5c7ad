from django import forms
from django.contrib.auth.forms import AuthenticationForm

from org.models import User


class SignInForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.is_service_account:
            raise forms.ValidationError(
                "Service accounts use API tokens and cannot sign in to the web app.",
                code="service_account",
            )
