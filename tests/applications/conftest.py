import pytest

from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.tenants.models import Department

SIMPLE_FORM = {
    "title": "テスト申請",
    "steps": [
        {
            "key": "applicant",
            "title": "申請者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス", "required": True},
            ],
        }
    ],
}


def make_procedure(municipality, slug="test", department_code="kodomo", schema=SIMPLE_FORM):
    department, _ = Department.objects.get_or_create(
        municipality=municipality, code=department_code, defaults={"name": "こども家庭課"}
    )
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug=slug,
        name="テスト手続",
        reading="てすとてつづき",
        category="other",
    )
    procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=schema).publish()
    procedure.refresh_from_db()
    return procedure


@pytest.fixture
def procedure(municipality):
    return make_procedure(municipality)


@pytest.fixture
def other_procedure(other_municipality):
    return make_procedure(other_municipality)
