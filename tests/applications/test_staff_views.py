import pytest
from django.urls import reverse

from madoguchi.applications.models import ApplicationEvent
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa

from .conftest import make_procedure
from .test_services import submitted_application


@pytest.fixture
def staff_client(client, django_user_model, procedure):
    def login(username, municipality, department_code=None, role="handler"):
        user = django_user_model.objects.create_user(username, password="x-test-password-123")
        department = (
            Department.objects.get(municipality=municipality, code=department_code)
            if department_code
            else None
        )
        StaffMembership.objects.create(
            user=user, municipality=municipality, department=department, role=role
        )
        return login_with_2fa(client, user)

    return login


@pytest.mark.django_db
def test_list_requires_login(client):
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.django_db
def test_handler_sees_only_own_department_and_municipality(
    staff_client, procedure, other_procedure
):
    water = make_procedure(procedure.municipality, slug="water", department_code="suido")
    mine, _ = submitted_application(procedure)
    other_department, _ = submitted_application(water)
    other_town, _ = submitted_application(other_procedure)

    client = staff_client("kodomo1", procedure.municipality, "kodomo")
    response = client.get(reverse("staff:application_list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert reverse("staff:application_detail", args=[mine.pk]) in body
    assert reverse("staff:application_detail", args=[other_department.pk]) not in body
    assert reverse("staff:application_detail", args=[other_town.pk]) not in body
    # ... and by URL too
    assert (
        client.get(reverse("staff:application_detail", args=[other_department.pk])).status_code
        == 404
    )
    assert client.get(reverse("staff:application_detail", args=[other_town.pk])).status_code == 404


@pytest.mark.django_db
def test_drafts_are_not_listed(staff_client, procedure):
    from madoguchi.applications import services

    draft, _ = services.start_draft(procedure)
    client = staff_client("admin1", procedure.municipality, role="admin")
    assert client.get(reverse("staff:application_detail", args=[draft.pk])).status_code == 404


@pytest.mark.django_db
def test_viewing_a_case_is_logged(staff_client, procedure):
    application, _ = submitted_application(procedure)
    client = staff_client("admin1", procedure.municipality, role="admin")
    response = client.get(reverse("staff:application_detail", args=[application.pk]))
    assert response.status_code == 200
    assert "山田" in response.content.decode()
    viewed = application.events.get(kind=ApplicationEvent.Kind.VIEWED)
    assert viewed.actor_user.username == "admin1"
