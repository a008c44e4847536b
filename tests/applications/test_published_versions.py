import pytest

from madoguchi.catalog.models import FormVersion, PublishedVersionIsImmutable


@pytest.mark.django_db
def test_published_version_cannot_change(procedure):
    version = procedure.current_version
    version.schema = {**version.schema, "title": "変更"}
    with pytest.raises(PublishedVersionIsImmutable):
        version.save()
    with pytest.raises(PublishedVersionIsImmutable):
        FormVersion.objects.get(pk=version.pk).delete()


@pytest.mark.django_db
def test_draft_can_change_until_published(procedure):
    draft = FormVersion.new_draft(procedure)
    draft.schema = {**draft.schema, "title": "第2版"}
    draft.save()
    draft.publish()
    procedure.refresh_from_db()
    assert procedure.current_version.number == 2
    assert procedure.current_version.schema["title"] == "第2版"
