"""The incident form: it parses what was typed; ``incident_record`` judges it."""

from __future__ import annotations

from typing import Any

from django import forms

from governance.errors import IncidentInvalid
from governance.models import Severity
from governance.services import SUMMARY_MAX


class IncidentForm(forms.Form):
    # Prefixed: the form sits on the proposal page next to other forms.
    prefix = "incident"

    occurred_at = forms.DateTimeField(
        label="Occurred at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}),
        help_text="When the incident started, in UTC.",
    )
    # No default: an incident's severity is a judgement, never a pre-filled SEV1.
    severity = forms.ChoiceField(
        choices=[("", "Choose the severity"), *Severity.choices],
        error_messages={"required": "Choose the severity."},
    )
    affected_percentage = forms.DecimalField(
        label="Affected infrastructure (%)",
        min_value=0,
        max_value=100,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01"}),
        help_text="0 to 100: the share of the infrastructure the incident touched.",
    )
    summary = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=SUMMARY_MAX, strip=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            # Point every input at its help text and its errors, for screen readers
            # (ids as in templates/waivers/_form_field.html).
            html_name = self.add_prefix(name)
            ids = [f"{html_name}-help"] if field.help_text else []
            field.widget.attrs["aria-describedby"] = " ".join([*ids, f"{html_name}-errors"])

    def add_error(self, field: str | None, error: Any) -> None:
        """Every error also marks its input ``aria-invalid``."""
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"

    def add_service_errors(self, invalid: IncidentInvalid) -> None:
        for problem in invalid.errors:
            field = problem.field if problem.field in self.fields else None
            self.add_error(field, problem.message)
