from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from org.models import Subsystem, User
from org.scopes import scopes_allowed_for


class SignInForm(AuthenticationForm):
    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if user.is_service_account:
            raise forms.ValidationError(
                "Service accounts use API tokens and cannot sign in to the web app.",
                code="service_account",
            )


EXPIRY_CHOICES = (
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    ("never", "Never"),
)


class ApiTokenForm(forms.Form):
    """A new token of the signed-in user: only the scopes their roles can use are offered."""

    name = forms.CharField(
        max_length=100,
        help_text="What uses it, e.g. “fleet agent, connector-runtime”.",
    )
    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one scope."},
    )
    subsystems = forms.ModelMultipleChoiceField(
        queryset=Subsystem.objects.select_related("section"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None chosen: every subsystem.",
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scopes_field = self.fields["scopes"]
        assert isinstance(scopes_field, forms.MultipleChoiceField)
        scopes_field.choices = [
            (scope.value, f"{scope.value} — {scope.label}") for scope in scopes_allowed_for(user)
        ]

    def expires_at(self, now: dt.datetime) -> dt.datetime | None:
        days = self.cleaned_data["expires_in"]
        return None if days == "never" else now + dt.timedelta(days=int(days))
