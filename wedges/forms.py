"""The proposal form: a thin shell that builds the API's JSON document.

The form does no policy checking of its own. It turns what the user typed into
the same document the API receives, hands it to ``check_submission`` and puts
each error next to the input its JSON path names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from org.models import Subsystem
from policies.selectors import thresholds_in_force
from wedges.models import ChangeType, IncrementPolicy
from wedges.policy import Issue, ValidationContext
from wedges.policy.validation import limits
from wedges.submission import SubmissionCheck

NUMBER = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})


def number_or_text(value: str) -> float | str | None:
    """A typed number as a float; anything else goes to the engine as typed."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return value
    return number if number == number and abs(number) != float("inf") else value


class DescribedByErrors:
    """Points every input at its help text and error container, for screen readers."""

    fields: dict[str, forms.Field]

    def describe_errors(self, add_prefix: Any) -> None:
        for name, field in self.fields.items():
            html_name = add_prefix(name)
            ids = [f"id_{html_name}_help", f"err-{html_name}"]
            field.widget.attrs["aria-describedby"] = " ".join(ids)


class ProposalForm(DescribedByErrors, forms.Form):
    title = forms.CharField(max_length=200, required=False)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    change_type = forms.ChoiceField(choices=[("", "—"), *ChangeType.choices], required=False)
    subsystem = forms.ChoiceField(required=False)
    external_reference = forms.CharField(
        required=False, label="External reference", help_text="Pipeline run, commit or ticket."
    )
    initial_percentage = forms.CharField(
        widget=NUMBER, required=False, label="Initial exposure (%)"
    )
    increment_policy = forms.ChoiceField(
        choices=[("", "—"), *IncrementPolicy.choices],
        required=False,
        help_text="Linear: equal steps. Exponential: a constant ratio. Manual: an operator "
        "approves each advance.",
    )
    max_blast_radius = forms.CharField(widget=NUMBER, required=False, label="Max blast radius (%)")
    observation_window_hours = forms.CharField(
        widget=NUMBER, required=False, label="Observation window (hours)"
    )
    metric_queries = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
        required=False,
        label="Metric queries (optional)",
        help_text="One per line: metric = provider: query, e.g. "
        "error_rate = prometheus: sum(rate(http_errors_total[1m])). "
        "Wedge polls them while the rollout runs; metrics without a query are pushed.",
    )

    WEDGE_FIELDS = (
        "initial_percentage",
        "increment_policy",
        "max_blast_radius",
        "observation_window_hours",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subsystems = {
            s.slug: s for s in Subsystem.objects.select_related("section").order_by("slug")
        }
        subsystem_field = self.fields["subsystem"]
        assert isinstance(subsystem_field, forms.ChoiceField)
        subsystem_field.choices = [("", "—")] + [
            (s.slug, f"{s.name} ({s.section.name}{', critical' if s.is_critical else ''})")
            for s in self.subsystems.values()
        ]
        self.describe_errors(self.add_prefix)
        self.explain_limits()

    def chosen_subsystem(self) -> Subsystem | None:
        value = self.data.get(self.add_prefix("subsystem")) if self.is_bound else None
        return self.subsystems.get(value) if isinstance(value, str) else None

    def explain_limits(self) -> None:
        """Help texts that state the policy's limits for the chosen subsystem."""
        subsystem = self.chosen_subsystem()
        _, thresholds = thresholds_in_force(timezone.now())
        context = ValidationContext(
            subsystem_critical=bool(subsystem and subsystem.is_critical),
            max_stage_hours=max(
                settings.WEDGE_MAX_STAGE_HOURS, thresholds.min_observation_window_hours
            ),
            thresholds=thresholds,
        )
        self.limits = limits(context, subsystem.name if subsystem else None)
        for name in ("initial_percentage", "max_blast_radius", "observation_window_hours"):
            self.fields[name].help_text = self.limits[name]


class StageForm(DescribedByErrors, forms.Form):
    stage_id = forms.CharField(
        required=False, label="Stage id", help_text="A short name, such as canary."
    )
    target_percentage = forms.CharField(
        widget=NUMBER,
        required=False,
        label="Target (%)",
        help_text="The exposure the stage holds.",
    )
    duration_hours = forms.CharField(
        widget=NUMBER,
        required=False,
        label="Duration (hours)",
        help_text="How long the stage is planned to last.",
    )
    success_criteria = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Success criteria",
        help_text="One expression per line, such as error_rate < 0.01 or p99 <= 200ms.",
    )
    rollback_trigger = forms.CharField(
        required=False,
        label="Rollback trigger",
        help_text="Rolls back at once when it holds, such as error_rate > 0.05 or p99 > 500ms.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.describe_errors(self.add_prefix)


StageFormSet = forms.formset_factory(StageForm, extra=0, can_delete=True, max_num=100)


class LadderForm(forms.Form):
    """Inputs of the "generate stages" helper."""

    stage_count = forms.IntegerField(min_value=1, max_value=100, label="Number of stages")


def typed(form: forms.Form, name: str) -> str:
    """What was typed into a text or choice input, as the engine should judge it.

    The cleaned value when Django's own checks passed it; otherwise the text as
    sent (a NUL character, a choice the page never offered, a title over the
    input's length), so the submission check reports it next to its input
    instead of the field silently going missing.
    """
    cleaned = getattr(form, "cleaned_data", {})
    value = cleaned[name] if name in cleaned else form[name].data
    return value if isinstance(value, str) else ""


def build_document(form: ProposalForm, formset: Any) -> tuple[dict[str, Any], list[int]]:
    """The submission document, and for each document stage the formset row it came from."""
    data = {name: typed(form, name) for name in ProposalForm.base_fields}
    rows: list[int] = []
    stages: list[dict[str, Any]] = []
    for index, stage_form in enumerate(formset.forms):
        if getattr(stage_form, "cleaned_data", {}).get("DELETE"):
            continue
        cleaned = {name: typed(stage_form, name) for name in StageForm.base_fields}
        if not any(cleaned.values()):
            continue  # an untouched blank row
        criteria = [line.strip() for line in cleaned["success_criteria"].splitlines()]
        stage = {
            "stage_id": cleaned["stage_id"].strip(),
            "target_percentage": number_or_text(cleaned["target_percentage"]),
            "duration_hours": number_or_text(cleaned["duration_hours"]),
            "success_criteria": [c for c in criteria if c],
            "rollback_trigger": cleaned["rollback_trigger"].strip(),
        }
        # A blank input is a missing field ("enter the duration"), not a wrong value.
        stages.append({key: value for key, value in stage.items() if value not in (None, "")})
        rows.append(index)
    wedge: dict[str, Any] = {
        "wedge_stages": stages,
        "initial_percentage": number_or_text(data["initial_percentage"]),
        "increment_policy": data["increment_policy"] or None,
        "max_blast_radius": number_or_text(data["max_blast_radius"]),
        "observation_window_hours": number_or_text(data["observation_window_hours"]),
        "metric_queries": metric_queries(data["metric_queries"]),
    }
    document: dict[str, Any] = {
        "title": data["title"],
        "description": data["description"],
        "change_type": data["change_type"] or None,
        "subsystem": data["subsystem"] or None,
        "external_reference": data["external_reference"],
        "rollout_wedge": {key: value for key, value in wedge.items() if value is not None},
    }
    return document, rows


# "error_rate = prometheus: sum(rate(x[1m]))": the metric, then the provider, then
# the query (which may itself hold "=" and ":", so only the first of each splits).
_QUERY_LINE = re.compile(r"^\s*([^=]*?)\s*=\s*(?:([A-Za-z0-9_-]+)\s*:\s*)?(.*?)\s*$")


def metric_queries(text: str) -> dict[str, Any] | None:
    """The ``metric_queries`` of the document from the form's lines (``None`` when empty).

    What the lines say goes to the engine as typed, so its errors name the
    metric: a line without a provider has none, one without ``=`` is a metric
    without a query.
    """
    queries: dict[str, Any] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _QUERY_LINE.match(line)
        if match is None or "=" not in line:
            queries[line.strip()] = {}
            continue
        name, provider, query = match.groups()
        entry: dict[str, Any] = {"query": query}
        if provider is not None:
            entry["provider"] = provider
        queries[name] = entry
    return queries or None


_STAGE_PATH = re.compile(r"^rollout_wedge\.wedge_stages\[(\d+)\](?:\.(\w+))?")


def html_field_for(issue: Issue, rows: list[int], prefix: str) -> str | None:
    """The HTML input name an issue belongs next to, or None for a form-level issue."""
    path = issue.path or ""
    if match := _STAGE_PATH.match(path):
        index, name = int(match.group(1)), match.group(2)
        if index < len(rows) and name in StageForm.base_fields:
            return f"{prefix}-{rows[index]}-{name}"
        return "stages"
    if path == "rollout_wedge.wedge_stages":
        return "stages"
    if path.startswith("rollout_wedge.metric_queries"):
        return "metric_queries"
    name = path.removeprefix("rollout_wedge.")
    if name in ProposalForm.base_fields:
        return name
    return None


def errors_by_field(
    check: SubmissionCheck, rows: list[int], prefix: str
) -> tuple[dict[str, list[Issue]], list[Issue]]:
    """Errors grouped by HTML input name, and those that belong to no input."""
    placed: dict[str, list[Issue]] = {}
    unplaced: list[Issue] = []
    for issue in check.errors:
        field = html_field_for(issue, rows, prefix)
        if field is None:
            unplaced.append(issue)
        else:
            placed.setdefault(field, []).append(issue)
    return placed, unplaced


STAGES_ANCHOR = "stage-rows"


@dataclass(frozen=True)
class SummaryEntry:
    """One line of the error summary: a link to the field and what is wrong with it."""

    field: str  # the HTML name ("stages" for the stage list), "" for none
    anchor: str  # the id the link jumps to
    label: str
    message: str


def error_summary(
    placed: dict[str, list[Issue]],
    unplaced: list[Issue],
    form: ProposalForm,
    formset: Any,
    prefix: str,
) -> list[SummaryEntry]:
    """The error summary in the order of the page: each field's errors, with its label.

    Stage fields are named by the row's number as the page shows it (removed
    rows do not count).
    """
    numbers: dict[int, int] = {}
    for index, stage_form in enumerate(formset.forms):
        if not getattr(stage_form, "cleaned_data", {}).get("DELETE"):
            numbers[index] = len(numbers) + 1
    entries: list[SummaryEntry] = []
    order = [field.html_name for field in form]
    order.append("stages")
    for index in numbers:
        order += [f"{prefix}-{index}-{name}" for name in StageForm.base_fields]
    for name in order:
        for issue in placed.get(name, ()):
            entries.append(
                SummaryEntry(name, _anchor(name), _label(name, form, numbers), issue.human)
            )
    entries += [SummaryEntry("", "", "", issue.human) for issue in unplaced]
    return entries


def _anchor(name: str) -> str:
    return STAGES_ANCHOR if name == "stages" else f"id_{name}"


def _label(name: str, form: ProposalForm, numbers: dict[int, int]) -> str:
    if name == "stages":
        return "Stages"
    if name in form.fields:
        return str(form[name].label)
    _, index, field = name.split("-", 2)
    label = StageForm.base_fields[field].label or field
    return f"Stage {numbers.get(int(index), int(index) + 1)}, {str(label).lower()}"


def mark_invalid(placed: dict[str, list[Issue]], form: ProposalForm, formset: Any) -> None:
    """``aria-invalid`` on every input that has an error (for a page showing them all)."""
    bound = [form, *formset.forms]
    for candidate in bound:
        for name, field in candidate.fields.items():
            if candidate.add_prefix(name) in placed:
                field.widget.attrs["aria-invalid"] = "true"


class OperatorActionForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the audit trail.",
    )
