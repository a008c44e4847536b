import pytest

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Department
from tests.conftest import login_with_2fa, make_staff


def make_procedure(municipality, slug, department_code, schema=None, *, publish=True):
    department, _ = Department.objects.get_or_create(
        municipality=municipality, code=department_code, defaults={"name": department_code}
    )
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug=slug,
        name=f"手続{slug}",
        reading="てつづき",
        category="other",
    )
    procedure.departments.set([department])
    schema = schema or {
        "title": "様式",
        "steps": [
            {
                "key": "s1",
                "title": "申請者",
                "fields": [
                    {"key": "name", "type": "name", "label": "氏名", "required": True},
                    {
                        "key": "marital",
                        "type": "radio",
                        "label": "婚姻の状況",
                        "options": [
                            {"value": "single", "label": "未婚"},
                            {"value": "married", "label": "既婚"},
                        ],
                    },
                    {
                        "key": "spouse",
                        "type": "text",
                        "label": "配偶者の氏名",
                        "visible_if": {"field": "marital", "equals": "married"},
                    },
                ],
            }
        ],
    }
    version = FormVersion.objects.create(procedure=procedure, number=1, schema=schema)
    if publish:
        version.publish()
    procedure.refresh_from_db()
    return procedure


@pytest.fixture
def kodomo_procedure(municipality):
    return make_procedure(municipality, "kodomo-teate", "kodomo")


@pytest.fixture
def editor(municipality):
    return make_staff("editor1", municipality, "kodomo", role="form_editor")


@pytest.fixture
def editor_client(client, editor):
    return login_with_2fa(client, editor)
