"""Only the memberships that see applications (管理者, 担当者, 閲覧者) are offered exports: a
様式作成者 builds forms and sees no application, so the export form, the job list and the
files are not there for them (404), and such a membership adds no procedure to the form."""

import re

import pytest

from madoguchi.exports.models import ExportJob
from madoguchi.tenants.models import Department, StaffMembership

from .conftest import answers, download, start_export, submit

pytestmark = pytest.mark.django_db


def procedure_options(page: str) -> set[int]:
    select = re.search(r'<select[^>]*id="procedure-choice".*?</select>', page, re.S)[0]
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


@pytest.mark.parametrize("department_code", [None, "kodomo"])
def test_a_form_editor_is_offered_no_export(
    client, kodomo, suido, staff, login, inline_jobs, department_code
):
    submit(kodomo, answers())
    login(staff("editor1", kodomo.municipality, department_code, role="form_editor"))
    department = Department.objects.get(municipality=kodomo.municipality, code="kodomo")
    assert client.get("/staff/exports/new/").status_code == 404
    assert client.get(f"/staff/exports/new/?department={department.pk}").status_code == 404
    assert client.get("/staff/exports/").status_code == 404
    for data in (
        {"format": "csv", "encoding": "utf-8-sig"},
        {"format": "csv", "encoding": "utf-8-sig", "procedure_choice": kodomo.pk},
        {"format": "csv", "department": department.pk},
    ):
        response, _job = start_export(client, inline_jobs, data)
        assert response.status_code == 404, data
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("editor_department", [None, "kodomo"])
def test_a_form_editor_membership_adds_no_procedure_to_the_export(
    client, kodomo, suido, staff, login, inline_jobs, editor_department
):
    """様式作成者 of こども家庭課 (or of the whole municipality) and 閲覧者 of 水道課: the form
    offers 水道課's procedure only, and the file holds 水道課's applications only."""
    submit(kodomo, answers(family="山田"))
    water = submit(suido, answers(family="水野"))
    user = staff("both1", kodomo.municipality, "suido", role="viewer")
    StaffMembership.objects.create(
        user=user,
        municipality=kodomo.municipality,
        department=(
            Department.objects.get(municipality=kodomo.municipality, code=editor_department)
            if editor_department
            else None
        ),
        role="form_editor",
    )
    login(user)
    form = client.get("/staff/exports/new/")
    assert form.status_code == 200
    assert procedure_options(form.content.decode()) == {suido.pk}
    kodomo_department = Department.objects.get(municipality=kodomo.municipality, code="kodomo")
    assert client.get(f"/staff/exports/new/?department={kodomo_department.pk}").status_code == 404

    response, _job = start_export(
        client,
        inline_jobs,
        {"format": "csv", "encoding": "utf-8-sig", "procedure_choice": kodomo.pk},
    )
    assert response.status_code == 400
    assert not ExportJob.objects.exists()

    _response, job = start_export(client, inline_jobs, {"format": "csv", "encoding": "utf-8-sig"})
    data = download(client, job).decode("utf-8-sig")
    assert water.receipt_number in data and "水野" in data and "山田" not in data


def test_a_requester_who_became_a_form_editor_no_longer_gets_the_file(
    client, kodomo, staff, login, inline_jobs
):
    submit(kodomo, answers())
    requester = staff("kodomo1", kodomo.municipality, "kodomo", role="viewer")
    admin = staff("admin1", kodomo.municipality, role="admin")
    login(requester)
    _response, job = start_export(client, inline_jobs, {"format": "csv"})
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200

    StaffMembership.objects.filter(user=requester).update(role="form_editor")
    login(requester)
    assert client.get("/staff/exports/").status_code == 404
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 404

    login(admin)  # the municipality's 管理者 still reaches it
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 200
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200


@pytest.mark.parametrize("role", ["admin", "handler", "viewer"])
def test_viewing_roles_are_still_offered_exports(client, kodomo, suido, staff, login, role):
    department = None if role == "admin" else "kodomo"
    login(staff("user1", kodomo.municipality, department, role=role))
    form = client.get("/staff/exports/new/")
    assert form.status_code == 200
    expected = {kodomo.pk, suido.pk} if role == "admin" else {kodomo.pk}
    assert procedure_options(form.content.decode()) == expected
    assert client.get("/staff/exports/").status_code == 200


def test_a_requester_moved_to_another_department_no_longer_gets_the_file(
    client, kodomo, suido, staff, login, inline_jobs
):
    """An export of こども家庭課's inbox holds こども家庭課's applications: once its requester
    is moved to 水道課 (same role, same municipality), the job and its file are gone for
    them; the municipality's 管理者 still reaches both."""
    submit(kodomo, answers())
    department = Department.objects.get(municipality=kodomo.municipality, code="kodomo")
    requester = staff("kodomo1", kodomo.municipality, "kodomo", role="handler")
    admin = staff("admin1", kodomo.municipality, role="admin")
    login(requester)
    _response, job = start_export(
        client, inline_jobs, {"format": "csv", "department": department.pk}
    )
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200
    assert f"/staff/exports/{job.pk}/" in client.get("/staff/exports/").content.decode()

    StaffMembership.objects.filter(user=requester).update(
        department=Department.objects.get(municipality=kodomo.municipality, code="suido")
    )
    login(requester)
    assert client.get(f"/staff/exports/{job.pk}/").status_code == 404
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 404
    assert f"/staff/exports/{job.pk}/" not in client.get("/staff/exports/").content.decode()

    login(admin)
    assert client.get(f"/staff/exports/{job.pk}/download/").status_code == 200
