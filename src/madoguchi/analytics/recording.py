"""Counting failed validation for the form funnel (which fields lose residents).

Called when a step POST is invalid (`applications.signals.step_invalid`). Only residents' own portal sessions are
counted (not counter, paper or business entry — the funnel is about residents). One count per
(form version, field, rule) per failed POST; the value typed is never looked at.
"""

from __future__ import annotations

from madoguchi.applications.models import Channel


def field_key_of(path: str) -> str:
    """'children.1.birth_date' → 'children.birth_date' (repeat item numbers removed)."""
    return ".".join(part for part in str(path).split(".") if part and not part.isdigit())


def field_label_of(form, key: str, fallback: str) -> str:
    """The field's label from the form schema (「児童の生年月日」 for a repeat child)."""
    parts = key.split(".")
    for step in form.steps:
        for field in step.fields:
            if field.key != parts[0]:
                continue
            if len(parts) == 1:
                return field.label
            for child in getattr(field, "fields", None) or []:
                if child.key == parts[1]:
                    return f"{field.label}の{child.label}"
    return fallback


def counts_for_funnel(application) -> bool:
    return application.channel == Channel.PORTAL and application.proxy_business_id is None


def record_validation_failures(application, form, errors) -> None:
    from .models import ValidationFailure

    if not counts_for_funnel(application):
        return
    seen: set[tuple[str, str]] = set()
    for error in errors:
        key = field_key_of(getattr(error, "path", "") or "")
        rule = getattr(error, "rule", "invalid") or "invalid"
        if not key or (key, rule) in seen:
            continue
        seen.add((key, rule))
        ValidationFailure.increment(
            form_version=application.form_version,
            field_key=key,
            # Staff read these figures: the label of the Japanese form, whatever language
            # the resident filled it in.
            field_label=field_label_of(
                application.form_version.form, key, getattr(error, "label", key)
            ),
            rule=rule,
        )


def on_step_invalid(sender, application, form, errors, **kwargs) -> None:
    """Receiver of `applications.signals.step_invalid`."""
    record_validation_failures(application, form, errors)
