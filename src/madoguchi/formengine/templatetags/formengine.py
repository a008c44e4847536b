"""Template helpers of the form engine: `{% load formengine %}`."""

from django import template

from madoguchi.formengine.fields.base import SummaryLine, error_summary

register = template.Library()


@register.filter(name="error_summary")
def error_summary_filter(errors) -> list[SummaryLine]:
    """`{% for line in errors|error_summary %}` — the step's error summary lines (each names
    its field, never two the same); `line.input_id`, `line.text`."""
    return error_summary(list(errors or []))
