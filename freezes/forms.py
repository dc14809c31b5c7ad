"""The declare form: it parses what was typed; ``freeze_declare`` judges it."""

from __future__ import annotations

from typing import Any

from django import forms

from freezes.errors import FreezeInvalid
from freezes.services import REASON_MAX
from org.models import Subsystem

WHOLE = "whole"
SUBSYSTEMS = "subsystems"


class FreezeForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX,
        strip=True,
        help_text="Shown wherever the freeze holds a rollout: “Year-end holiday”, “Incident 42”.",
    )
    starts_at = forms.DateTimeField(
        label="Starts (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Now or later, in UTC.",
    )
    ends_at = forms.DateTimeField(
        label="Ends (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="At most 60 days after the start; it can be ended early.",
    )
    scope = forms.ChoiceField(
        choices=[(SUBSYSTEMS, "These subsystems"), (WHOLE, "The whole organisation")],
        widget=forms.RadioSelect,
        initial=SUBSYSTEMS,
    )
    subsystems = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The subsystems of the sections you lead.",
    )

    def __init__(self, *args: Any, subsystems: list[Subsystem], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = self.fields["subsystems"]
        assert isinstance(choices, forms.MultipleChoiceField)
        choices.choices = [
            (subsystem.slug, f"{subsystem.name} ({subsystem.section.name})")
            for subsystem in subsystems
        ]
        for name, field in self.fields.items():
            ids = [f"{name}-help"] if field.help_text else []
            field.widget.attrs["aria-describedby"] = " ".join([*ids, f"{name}-errors"])

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        whole = data["scope"] == WHOLE
        return {
            "reason": data["reason"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "whole_organisation": whole,
            "subsystems": [] if whole else list(data["subsystems"]),
        }

    def add_service_errors(self, invalid: FreezeInvalid) -> None:
        for problem in invalid.errors:
            field = (problem.field or "").split("[")[0]
            self.add_error(field if field in self.fields else None, problem.message)


class EndForm(forms.Form):
    reason = forms.CharField(max_length=REASON_MAX, required=False, strip=True)
