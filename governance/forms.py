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


MAX_IMPORT_BYTES = 5 * 1024 * 1024


class IncidentImportForm(forms.Form):
    """An incident tool's CSV export to import (or to check, with ``dry_run``)."""

    file = forms.FileField(
        label="CSV export",
        help_text="From PagerDuty, Opsgenie or incident.io: a header row naming the columns "
        "(id, title, severity or priority, started or created at, affected %, service), "
        "then one incident a row. At most 5 MB.",
    )
    source = forms.SlugField(
        max_length=40,
        initial="csv",
        help_text="The tool, e.g. pagerduty. An incident is known by the tool and its id: "
        "importing the same id again updates it.",
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Check only: write nothing")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None:
            if upload.size > MAX_IMPORT_BYTES:
                self.add_error("file", "The file is larger than 5 MB; split it.")
            else:
                try:
                    cleaned["text"] = upload.read().decode("utf-8-sig")
                except UnicodeDecodeError:
                    self.add_error("file", "The file is not UTF-8 text; export it as CSV.")
        return cleaned
