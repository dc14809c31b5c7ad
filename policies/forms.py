"""The propose form: the thresholds (filled with the latest approved version's), why, and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms

from wedges.policy.thresholds import FIELDS, INTEGER_FIELDS, LABELS, Thresholds, amount


class ProposeForm(forms.Form):
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Why the policy should change: what happened, what this prevents.",
    )
    effective_at = forms.DateTimeField(
        required=False,
        label="Takes effect at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="Not before it is approved: approved later, it takes effect at the approval.",
    )

    def __init__(self, *args: Any, base: Thresholds, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base
        for name in FIELDS:
            label, unit = LABELS[name]
            value = getattr(base, name)
            self.fields[name] = (
                forms.IntegerField(required=False, label=f"{label} ({unit})")
                if name in INTEGER_FIELDS
                else forms.FloatField(required=False, label=f"{label} ({unit})")
            )
            self.fields[name].initial = value
            self.fields[name].help_text = f"Now {amount(name, value)}."

    def threshold_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in FIELDS]

    def values(self) -> dict[str, object]:
        """The thresholds that differ from the base version (those the proposal changes)."""
        changed: dict[str, object] = {}
        for name in FIELDS:
            value = self.cleaned_data.get(name)
            if value is not None and value != getattr(self.base, name):
                changed[name] = value
        return changed

    def effective_time(self) -> datetime | None:
        value = self.cleaned_data.get("effective_at")
        if value is None:
            return None
        # The field reads a time without a zone; the form says it is UTC.
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class DecisionForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
