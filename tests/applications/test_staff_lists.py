"""The inbox's filter list of procedures and the assignment forms' staff: read at every page
(their SQL is compiled once per process, core.prepared), so any change shows at the next page
in every process, and a procedure moved away takes its applications out of the inbox."""

import re

import pytest
from django.urls import reverse

from madoguchi.catalog.models import Procedure
from madoguchi.staff import common, inbox_views
from madoguchi.tenants import permissions
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

from .conftest import make_procedure
from .test_inbox import make_app, make_staff

pytestmark = pytest.mark.django_db


def _procedure_options(body):
    select = re.search(r'id="filter-procedure"[^>]*>(.*?)</select>', body, re.S).group(1)
    return re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', select)


def _staff_options(body):
    select = re.search(r'id="bulk-assignee">(.*?)</select>', body, re.S).group(1)
    return re.findall(r'<option value="(\d+)">([^<]*)</option>', select)


def _new_process():
    """What another process starts with: nothing compiled."""
    for prepared in (
        permissions._memberships,
        common._assignable,
        inbox_views._procedures_of_department,
        inbox_views._procedures_of_departments,
    ):
        prepared._compiled.clear()


@pytest.mark.parametrize("fresh_process", [False, True])
def test_changes_show_at_the_next_page(client, django_user_model, procedure, fresh_process):
    municipality = procedure.municipality
    kodomo = Department.objects.get(municipality=municipality, code="kodomo")
    handler = make_staff(django_user_model, "kodomo1", municipality, "kodomo")
    colleague = make_staff(django_user_model, "kodomo2", municipality, "kodomo")
    application = make_app(procedure)
    url = reverse("staff:inbox", args=[kodomo.pk])
    login_with_2fa(client, handler)
    body = client.get(url).content.decode()
    assert _procedure_options(body) == [(str(procedure.pk), "テスト手続")]
    assert _staff_options(body) == [(str(colleague.pk), "kodomo2")]
    assert f'id="row-{application.pk}"' in body

    # A procedure renamed, another one added to the department; a colleague renamed, a new
    # one, one who left the department.
    Procedure.objects.filter(pk=procedure.pk).update(name="児童手当")
    added = make_procedure(municipality, slug="added", department_code="kodomo")
    Procedure.objects.filter(pk=added.pk).update(name="保育", reading="ほいく")
    django_user_model.objects.filter(pk=colleague.pk).update(last_name="佐藤", first_name="花子")
    newcomer = make_staff(django_user_model, "kodomo3", municipality, "kodomo")
    leaver = make_staff(django_user_model, "kodomo4", municipality, "kodomo")
    if fresh_process:
        _new_process()
    body = client.get(url).content.decode()
    assert _procedure_options(body) == [
        (str(procedure.pk), "児童手当"),
        (str(added.pk), "保育"),
    ]
    assert _staff_options(body) == [
        (str(newcomer.pk), "kodomo3"),
        (str(leaver.pk), "kodomo4"),
        (str(colleague.pk), "花子 佐藤"),
    ]

    StaffMembership.objects.filter(user=leaver).delete()
    django_user_model.objects.filter(pk=newcomer.pk).update(is_active=False)
    # The procedure moved to another department: its applications leave this inbox.
    other = Department.objects.create(municipality=municipality, code="zeimu", name="税務課")
    procedure.departments.set([other])
    if fresh_process:
        _new_process()
    body = client.get(url).content.decode()
    assert _procedure_options(body) == [(str(added.pk), "保育")]
    assert f'id="row-{application.pk}"' not in body
    make_app(added)
    body = client.get(url).content.decode()
    assert _staff_options(body) == [(str(colleague.pk), "花子 佐藤")]


def test_a_membership_taken_away_counts_at_the_next_request(client, django_user_model, procedure):
    kodomo = Department.objects.get(municipality=procedure.municipality, code="kodomo")
    handler = make_staff(django_user_model, "kodomo1", procedure.municipality, "kodomo")
    application = make_app(procedure)
    login_with_2fa(client, handler)
    assert client.get(reverse("staff:inbox", args=[kodomo.pk])).status_code == 200
    detail = reverse("staff:application_detail", args=[application.pk])
    assert client.get(detail).status_code == 200
    StaffMembership.objects.filter(user=handler).delete()
    assert client.get(reverse("staff:inbox", args=[kodomo.pk])).status_code == 404
    assert client.get(detail).status_code == 404


def test_the_combined_inbox_lists_the_procedures_of_every_department(
    client, django_user_model, procedure
):
    municipality = procedure.municipality
    admin = make_staff(django_user_model, "admin1", municipality, role="admin")
    other = make_procedure(municipality, slug="other", department_code="zeimu")
    Procedure.objects.filter(pk=other.pk).update(name="固定資産税", reading="あ")
    both = make_procedure(municipality, slug="both", department_code="kodomo")
    both.departments.add(Department.objects.get(municipality=municipality, code="zeimu"))
    Procedure.objects.filter(pk=both.pk).update(name="両方", reading="ん")
    make_app(procedure)
    login_with_2fa(client, admin)
    body = client.get(reverse("staff:inbox_all")).content.decode()
    assert _procedure_options(body) == [
        (str(other.pk), "固定資産税"),
        (str(procedure.pk), "テスト手続"),
        (str(both.pk), "両方"),
    ]


MEMBERSHIP_SETS = [
    [("admin", None)],
    [("handler", "kodomo")],
    [("viewer", "zeimu")],
    [("form_editor", "kodomo")],
    [("form_editor", None), ("viewer", "zeimu")],
    [("handler", "kodomo"), ("viewer", "zeimu"), ("other:handler", "kodomo")],
    [("other:admin", None), ("handler", "zeimu")],
    [("other:viewer", None)],
]


@pytest.mark.parametrize("memberships", MEMBERSHIP_SETS)
def test_the_review_screen_shows_exactly_what_visible_applications_allows(
    django_user_model, procedure, other_procedure, memberships
):
    """get_visible_application (its SQL compiled once per kind of memberships) against
    applications.permissions.visible_applications, for every application."""
    from django.http import Http404

    from madoguchi.applications.models import Status
    from madoguchi.applications.permissions import visible_applications

    municipality, other = procedure.municipality, other_procedure.municipality
    taxes = make_procedure(municipality, slug="taxes", department_code="zeimu")
    both = make_procedure(municipality, slug="both", department_code="kodomo")
    both.departments.add(Department.objects.get(municipality=municipality, code="zeimu"))
    applications = [make_app(p) for p in (procedure, taxes, both, other_procedure)]
    applications.append(make_app(procedure, status=Status.DRAFT))
    user = django_user_model.objects.create_user("someone")
    for role, code in memberships:
        place = other if role.startswith("other:") else municipality
        department = (
            Department.objects.get_or_create(municipality=place, code=code)[0] if code else None
        )
        StaffMembership.objects.create(
            user=user, municipality=place, department=department, role=role.split(":")[-1]
        )
    for application in applications:
        user = django_user_model.objects.get(pk=user.pk)  # memberships read again
        expected = visible_applications(user).filter(pk=application.pk).exists()
        if application.pk % 2:
            _new_process()
        try:
            found = common.get_visible_application(user, application.pk)
        except Http404:
            found = None
        assert (found is not None) == expected, (memberships, application.procedure.slug)
        if found is not None:
            assert found == application
            assert found.procedure == application.procedure
            assert found.municipality_id == application.municipality_id
            assert found.form_version.pk == application.form_version_id
            assert found.answers == application.answers
    with pytest.raises(Http404):
        common.get_visible_application(user, 10**9)
