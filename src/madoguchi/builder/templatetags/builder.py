from django import template

register = template.Library()


@register.filter
def condition_rows(form, prefix):
    """The pick lists (field, comparison, choice, text) of each condition row."""
    return form.condition_rows(prefix)


@register.filter
def form_field(form, prefix):
    """The and/or choice of a condition (`<prefix>_join`)."""
    return form[f"{prefix}_join"]
