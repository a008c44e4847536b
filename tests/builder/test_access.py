"""Who may edit which procedure: the isolation matrix of the 様式作成者 role."""

import pytest
from django.urls import reverse

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.permissions import staff_departments
from tests.conftest import login_with_2fa, make_staff

from .conftest import make_procedure

pytestmark = pytest.mark.django_db

PAGES = [
    "builder:procedure_edit",
    "builder:procedure_preview",
    "builder:form_edit",
    "builder:form_publish",
    "builder:form_export",
]


@pytest.fixture
def matrix(municipality, other_municipality):
    return {
        "own": make_procedure(municipality, "own", "kodomo"),
        "other_department": make_procedure(municipality, "other-dept", "kaigo"),
        "other_municipality": make_procedure(other_municipality, "far", "kodomo"),
    }


@pytest.mark.parametrize(
    ("role", "department", "expected"),
    [
        ("form_editor", "kodomo", {"own": 200, "other_department": 404, "other_municipality": 404}),
        ("form_editor", None, {"own": 200, "other_department": 200, "other_municipality": 404}),
        ("admin", None, {"own": 200, "other_department": 200, "other_municipality": 404}),
        ("handler", "kodomo", {"own": 404, "other_department": 404, "other_municipality": 404}),
        ("viewer", None, {"own": 404, "other_department": 404, "other_municipality": 404}),
    ],
)
def test_isolation_matrix(client, municipality, matrix, role, department, expected):
    user = make_staff("u", municipality, department, role=role)
    login_with_2fa(client, user)
    for page in PAGES:
        for name, procedure in matrix.items():
            response = client.get(reverse(page, args=[procedure.pk]))
            assert (
                response.status_code == expected[name]
                if not (page == "builder:form_publish" and expected[name] == 200)
                else 302
            ), (page, name)


def test_editor_cannot_change_a_procedure_of_another_department(client, municipality, matrix):
    user = make_staff("u", municipality, "kodomo", role="form_editor")
    login_with_2fa(client, user)
    target = matrix["other_department"]
    response = client.post(reverse("builder:form_op", args=[target.pk]), {"action": "add_step"})
    assert response.status_code == 404
    response = client.post(reverse("builder:procedure_edit", args=[target.pk]), {"name": "x"})
    assert response.status_code == 404
    assert Procedure.objects.get(pk=target.pk).name == "手続other-dept"


def test_builder_list_shows_only_editable_procedures(client, municipality, matrix):
    user = make_staff("u", municipality, "kodomo", role="form_editor")
    login_with_2fa(client, user)
    page = client.get(reverse("builder:procedure_list")).content.decode()
    assert "手続own" in page
    assert "手続other-dept" not in page
    assert "手続far" not in page


def test_builder_needs_two_factor_and_a_builder_role(client, municipality):
    response = client.get(reverse("builder:procedure_list"))
    assert response.status_code == 302
    login_with_2fa(client, make_staff("h", municipality, "kodomo", role="handler"))
    assert client.get(reverse("builder:procedure_list")).status_code == 404


def test_editor_sees_no_inbox(municipality):
    user = make_staff("u", municipality, "kodomo", role="form_editor")
    assert staff_departments(user) == []


def test_new_procedure_in_another_municipality_is_refused(client, municipality, other_municipality):
    login_with_2fa(client, make_staff("u", municipality, "kodomo", role="form_editor"))
    response = client.get(reverse("builder:procedure_new") + f"?m={other_municipality.pk}")
    assert response.status_code == 404


def test_nav_links_the_builder_for_editors_only(client, municipality):
    login_with_2fa(client, make_staff("u", municipality, "kodomo", role="form_editor"))
    page = client.get(reverse("builder:procedure_list")).content.decode()
    assert f'href="{reverse("builder:procedure_list")}"' in page
