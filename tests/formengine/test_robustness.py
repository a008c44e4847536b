"""Whatever a resident (or a robot) posts, validation answers with messages, never a crash."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from madoguchi.formengine.schema import TYPE_ATTRS
from madoguchi.formengine.validation import collect_raw, validate_step

from .helpers import form_of

OPTIONS = [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]


def field_for(ftype):
    field = {"key": "f", "type": ftype, "label": "項目", "required": True}
    if ftype in ("select", "radio", "checkboxes"):
        field["options"] = OPTIONS
    if ftype == "repeat":
        field["fields"] = [{"key": "c", "type": "date", "label": "日付", "required": True}]
    if ftype == "notice":
        del field["required"]
        field["body"] = "本文"
    return field


FORM = form_of(*[{**field_for(t), "key": f"f_{t}"} for t in TYPE_ATTRS])
NAMES = sorted(collect_raw(FORM.step("s"), {}).keys()) + ["f_repeat__0__c__year", "f_repeat__count"]

values = st.one_of(st.text(max_size=30), st.lists(st.text(max_size=10), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(NAMES), values))
def test_any_input_gives_messages_not_exceptions(raw):
    result = validate_step(FORM, "s", raw, {}, {}, None)
    for error in result.errors:
        assert error.message.endswith(("。", "）。")), error
        assert error.input_id.startswith("f-")
