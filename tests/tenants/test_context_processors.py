"""The staff flags of every template (tenants.context_processors.staff_roles) are worked
out only when a template asks: a resident's page reads neither session nor user."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from madoguchi.tenants.context_processors import staff_roles
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db


def flags(context) -> dict:
    return {name: bool(value) for name, value in context.items()}


def test_resident_page_with_a_session_cookie_reads_no_session(client, municipality):
    session = client.session
    session["portal_resume_sent"] = {"to": "x"}
    session.save()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("portal:municipality_home", args=[municipality.lg_code]))
    assert response.status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    assert not any("django_session" in sql or "auth_user" in sql for sql in statements)


def test_flags_of_an_admin(rf, municipality):
    request = rf.get("/")
    request.user = make_staff("kanri1", municipality, role="admin")
    context = staff_roles(request)
    assert flags(context) == {
        "staff_is_member": True,
        "staff_is_admin": True,
        "staff_is_handler": True,
        "staff_is_builder": True,
        "staff_sees_applications": True,
    }
    assert str(context["staff_is_admin"]) == "True"
    assert context["staff_is_admin"] == True  # noqa: E712 - compares like the bool it stands for


def test_flags_of_a_viewer_and_of_anonymous(rf, municipality):
    request = rf.get("/")
    request.user = make_staff("etsuran1", municipality, "kodomo", role="viewer")
    assert flags(staff_roles(request)) == {
        "staff_is_member": True,
        "staff_is_admin": False,
        "staff_is_handler": False,
        "staff_is_builder": False,
        "staff_sees_applications": True,
    }
    request.user = AnonymousUser()
    assert not any(flags(staff_roles(request)).values())


def test_flags_are_worked_out_once_per_request(rf, municipality):
    request = rf.get("/")
    request.user = make_staff("kanri1", municipality, role="admin")
    context = staff_roles(request)
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            flags(context)
    assert len(captured.captured_queries) <= 2


def test_staff_navigation_still_shows_the_admin_links(client, municipality):
    admin = make_staff("kanri1", municipality, role="admin")
    login_with_2fa(client, admin)
    response = client.get(reverse("staff:application_list"), follow=True)
    assert response.status_code == 200
    assert "Webhook" in response.content.decode()


def test_flags_of_a_form_editor(rf, municipality):
    """A 様式作成者 builds forms and sees no application: no 出力, no 指標."""
    request = rf.get("/")
    request.user = make_staff("sakusei1", municipality, "kodomo", role="form_editor")
    assert flags(staff_roles(request)) == {
        "staff_is_member": True,
        "staff_is_admin": False,
        "staff_is_handler": False,
        "staff_is_builder": True,
        "staff_sees_applications": False,
    }


def test_the_roles_that_see_applications_are_those_of_visible_applications():
    """One definition: the navigation's flag and the applications' queries apply the same
    roles, and a 様式作成者 is not among them."""
    from madoguchi.applications import permissions as application_permissions
    from madoguchi.tenants import permissions

    assert application_permissions.VIEWING_ROLES is permissions.VIEWING_ROLES
    assert {str(role) for role in permissions.VIEWING_ROLES} == {"admin", "handler", "viewer"}


def _nav_links(page: str) -> set[str]:
    nav = page.split('class="staff-nav__user"')[0]
    return {
        label
        for label, url in (("出力", "exports:job_list"), ("指標", "analytics:dashboard"))
        if f'href="{reverse(url)}"' in nav
    }


def test_navigation_offers_exports_and_figures_only_to_who_sees_applications(client, municipality):
    editor = make_staff("sakusei1", municipality, "kodomo", role="form_editor")
    login_with_2fa(client, editor)
    response = client.get(reverse("builder:procedure_list"))
    assert response.status_code == 200
    assert _nav_links(response.content.decode()) == set()
    client.logout()
    viewer = make_staff("etsuran1", municipality, "kodomo", role="viewer")
    login_with_2fa(client, viewer)
    response = client.get(reverse("staff:application_list"), follow=True)
    assert response.status_code == 200
    assert _nav_links(response.content.decode()) == {"出力", "指標"}
