"""A form version's definition is compiled once per version and content: the compiled form
is the same as a fresh `parse_form`, shared by every load of a published version, and
compiled again for a new version or an edited draft (never served stale)."""

import dataclasses

import pytest

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.formengine.schema import SchemaError, compiled_form, parse_form, schema_digest


def definition(*labels):
    return {
        "title": "届出",
        "steps": [
            {
                "key": "s",
                "title": "申請者",
                "fields": [
                    {"key": f"f{i}", "type": "text", "label": label, "required": True}
                    for i, label in enumerate(labels)
                ]
                + [
                    {
                        "key": "kids",
                        "type": "repeat",
                        "label": "児童",
                        "item_label": "児童",
                        "fields": [{"key": "kid", "type": "text", "label": "氏名"}],
                    }
                ],
            }
        ],
    }


def shape(form):
    """Everything a FormSchema holds, comparable (a field's parent by key)."""

    def field_shape(f):
        out = []
        for attr in dataclasses.fields(f):
            value = getattr(f, attr.name)
            if attr.name == "parent":
                value = value.key if value else None
            elif attr.name == "fields":
                value = tuple(map(field_shape, value))
            out.append((attr.name, value))
        return tuple(out)

    return (
        form.title,
        form.intro,
        form.feedback,
        form.applicant_name_field,
        form.applicant_email_field,
        tuple(
            (s.key, s.title, s.intro, s.index, tuple(map(field_shape, s.fields)))
            for s in form.steps
        ),
        tuple(form._fields),
    )


@pytest.fixture
def procedure(municipality):
    return Procedure.objects.create(
        municipality=municipality, slug="todoke", name="届出", reading="とどけで"
    )


def test_the_compiled_form_is_a_fresh_compile():
    data = definition("氏名", "住所")
    compiled = compiled_form(data, "todoke v1", key=("test", 1))
    assert shape(compiled) == shape(parse_form(data, "todoke v1"))
    # the same content again: the same object, nothing compiled
    assert compiled_form(definition("氏名", "住所"), "todoke v1", key=("test", 1)) is compiled
    # another version with the same content is compiled for itself
    assert compiled_form(data, "todoke v2", key=("test", 2)) is not compiled


def test_changed_content_is_compiled_again():
    data = definition("氏名")
    first = compiled_form(data, "x", key=("test", 3))
    data["steps"][0]["fields"][0]["label"] = "お名前"
    second = compiled_form(data, "x", key=("test", 3))
    assert second is not first
    assert second.field("f0").label == "お名前" and first.field("f0").label == "氏名"
    assert schema_digest(definition("氏名")) != schema_digest(data)


def test_a_definition_that_does_not_parse_fails_every_time():
    data = {"title": "x", "steps": [{"key": "s", "title": "s", "fields": [{"key": "A"}]}]}
    for _ in range(2):
        with pytest.raises(SchemaError):
            compiled_form(data, "broken", key=("test", 4))


@pytest.mark.django_db
def test_a_published_version_is_compiled_once_and_a_new_version_again(procedure):
    v1 = FormVersion.new_draft(procedure, schema=definition("氏名"))
    v1.publish()
    first = FormVersion.objects.get(pk=v1.pk).form
    assert shape(first) == shape(parse_form(definition("氏名"), "todoke v1"))
    # every later load of the (immutable) version gets the compiled form
    assert FormVersion.objects.get(pk=v1.pk).form is first
    v2 = FormVersion.new_draft(procedure, schema=definition("氏名", "電話番号"))
    v2.publish()
    second = FormVersion.objects.get(pk=v2.pk).form
    assert second is not first
    assert second.field("f1").label == "電話番号" and first.field("f1") is None
    assert FormVersion.objects.get(pk=v1.pk).form is first


@pytest.mark.django_db
def test_an_edited_draft_is_never_served_stale(procedure):
    draft = FormVersion.new_draft(procedure, schema=definition("氏名"))
    before = FormVersion.objects.get(pk=draft.pk).form
    assert before.field("f0").label == "氏名"
    draft.schema = definition("お名前")
    draft.save()
    assert FormVersion.objects.get(pk=draft.pk).form.field("f0").label == "お名前"
    # the instance that was edited sees its new definition too
    assert draft.form.field("f0").label == "お名前"
