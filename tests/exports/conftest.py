"""Fixtures for exports: a procedure whose form has a repeat group and a 個人番号, submitted
applications in two departments and two municipalities, and staff of each role."""

import pytest

from madoguchi.applications import services
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.exports.models import ExportJob
from madoguchi.jp.check_digits import individual_number_check_digit
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

MY_NUMBER = "12345678901" + str(individual_number_check_digit("12345678901"))

CHILD_FORM = {
    "title": "児童の届出",
    "steps": [
        {
            "key": "main",
            "title": "申請内容",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス"},
                {"key": "birth_date", "type": "date", "label": "生年月日"},
                {"key": "my_number", "type": "individual_number", "label": "個人番号"},
                {"key": "income", "type": "money", "label": "所得"},
                {"key": "note", "type": "text", "label": "備考"},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "氏名"},
                        {"key": "child_birth", "type": "date", "label": "生年月日"},
                    ],
                },
            ],
        }
    ],
}


def make_procedure(municipality, slug, department_code, department_name, schema=CHILD_FORM):
    department, _ = Department.objects.get_or_create(
        municipality=municipality, code=department_code, defaults={"name": department_name}
    )
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug=slug,
        name=f"手続 {slug}",
        reading="てつづき",
        category="other",
    )
    procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=schema).publish()
    procedure.refresh_from_db()
    return procedure


def answers(family="山田", given="花子", children=(), note="", **extra):
    return {
        "applicant_name": {
            "family": family,
            "given": given,
            "family_kana": "ヤマダ",
            "given_kana": "ハナコ",
        },
        "email": "hanako@example.jp",
        "birth_date": "1990-04-01",
        "my_number": MY_NUMBER,
        "income": 1500000,
        "note": note,
        "children": [{"child_name": n, "child_birth": "2020-05-05"} for n in children],
        **extra,
    }


def submit(procedure, values):
    application, _token = services.start_draft(procedure)
    services.save_step(application, "main", raw={}, answers=values, completed=True, step_index=0)
    services.submit(application, base_url="http://testserver")
    application.refresh_from_db()
    return application


@pytest.fixture
def kodomo(municipality):
    return make_procedure(municipality, "jidou", "kodomo", "こども家庭課")


@pytest.fixture
def suido(municipality):
    return make_procedure(municipality, "suido", "suido", "水道課")


@pytest.fixture
def elsewhere(other_municipality):
    return make_procedure(other_municipality, "jidou", "kodomo", "こども課")


@pytest.fixture
def staff(django_user_model):
    """staff(username, municipality, department_code=None, role="handler") -> user"""

    def make(username, municipality, department_code=None, role="handler"):
        user = django_user_model.objects.create_user(username, password="x-test-password-123")
        department = (
            Department.objects.get(municipality=municipality, code=department_code)
            if department_code
            else None
        )
        StaffMembership.objects.create(
            user=user, municipality=municipality, department=department, role=role
        )
        return user

    return make


@pytest.fixture
def login(client):
    def do(user):
        client.logout()
        return login_with_2fa(client, user)

    return do


@pytest.fixture
def inline_jobs(settings, django_capture_on_commit_callbacks):
    """Background jobs run synchronously, right after the (test) transaction 'commits'."""
    settings.MADOGUCHI_JOBS_INLINE = True

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


def start_export(client, inline_jobs, data: dict):
    """POST the export form and run the job; returns (response, job)."""
    with inline_jobs():
        response = client.post("/staff/exports/new/", data)
    job = ExportJob.objects.order_by("-pk").first()
    return response, job


def download(client, job) -> bytes:
    response = client.get(f"/staff/exports/{job.pk}/download/")
    assert response.status_code == 200, response.status_code
    return b"".join(response.streaming_content)
