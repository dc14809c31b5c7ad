"""Forms of the waiver pages: they parse what was typed; the services judge it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from org.models import Subsystem
from waivers import errors, rules
from waivers.errors import WaiverInvalid
from wedges.models import ChangeProposal, ChangeType
from wedges.policy.validation import waived_rules

SCOPE_PROPOSAL = "proposal"
SCOPE_STANDING = "standing"


class DescribedForm(forms.Form):
    """Points every input at its help text and its error list, for screen readers.

    The ids match ``templates/waivers/_form_field.html``; prefixed forms (the
    waiver page has three) keep them unique.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            html_name = self.add_prefix(name)
            ids = [f"{html_name}-help"] if field.help_text else []
            field.widget.attrs["aria-describedby"] = " ".join([*ids, f"{html_name}-errors"])

    def add_error(self, field: str | None, error: Any) -> None:
        """Every error, Django's own or a service's, also marks its input ``aria-invalid``."""
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"


class ProposalChoiceField(forms.ModelChoiceField[ChangeProposal]):
    def label_from_instance(self, obj: ChangeProposal) -> str:
        lifted = waived_rules(obj.waivable_codes)
        return f"#{obj.pk} {obj.title} ({obj.subsystem.name}; needs a waiver for {lifted})"


class WaiverRequestForm(DescribedForm):
    """Scope is one of the user's proposals, or a subsystem and change type (standing)."""

    scope = forms.ChoiceField(
        choices=[
            (SCOPE_PROPOSAL, "One proposal"),
            (SCOPE_STANDING, "Standing: every proposal of a subsystem and change type"),
        ],
        widget=forms.RadioSelect,
        initial=SCOPE_PROPOSAL,
    )
    proposal = ProposalChoiceField(
        queryset=ChangeProposal.objects.none(),
        required=False,
        empty_label="—",
        help_text="Your proposals that need a waiver and have not started.",
    )
    subsystem = forms.ModelChoiceField(
        queryset=Subsystem.objects.select_related("section").order_by("slug"),
        to_field_name="slug",
        required=False,
        empty_label="—",
    )
    change_type = forms.ChoiceField(
        choices=[("", "—"), *ChangeType.choices], required=False, label="Change type"
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="Why this change does not need a multi-stage rollout.",
    )
    duration_days = forms.IntegerField(
        required=False,
        label="Duration (days)",
        widget=forms.NumberInput(attrs={"min": 1, "max": rules.MAX_WAIVER_DAYS}),
        help_text=rules.DURATION_HELP,
    )

    def __init__(self, *args: Any, proposals: QuerySet[ChangeProposal], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["proposal"]
        assert isinstance(field, ProposalChoiceField)
        field.queryset = proposals

    def service_arguments(self) -> dict[str, Any]:
        """The scope the user chose, as ``waiver_request`` keyword arguments."""
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "rationale": data.get("rationale") or "",
            "duration_days": data.get("duration_days"),
        }
        if data.get("scope") == SCOPE_STANDING:
            arguments["subsystem"] = data.get("subsystem")
            arguments["change_type"] = data.get("change_type") or None
        else:
            arguments["proposal"] = data.get("proposal")
        return arguments

    def add_service_errors(self, invalid: WaiverInvalid) -> None:
        for problem in invalid.errors:
            field = problem.field if problem.field in self.fields else None
            if problem.code == errors.SCOPE_REQUIRED:
                # On this form the missing scope is the input of the chosen kind.
                standing = self.cleaned_data.get("scope") == SCOPE_STANDING
                field = "subsystem" if standing else "proposal"
            self.add_error(field, problem.message)


class CommentForm(DescribedForm):
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Comment (optional)"
    )


class ReasonForm(DescribedForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
