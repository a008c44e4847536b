"""The session's user read by compiled SQL (tenants.auth_backend) keeps Django's rules, and
sessions written with Django's backend name stay logged in (core.sessions)."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.urls import reverse

from madoguchi.core.sessions import SessionStore
from madoguchi.tenants.auth_backend import ModelBackend
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db

DJANGO_BACKEND = "django.contrib.auth.backends.ModelBackend"
OUR_BACKEND = "madoguchi.tenants.auth_backend.ModelBackend"


@pytest.fixture
def staff(municipality):
    return make_staff("backend", municipality, "welfare")


def test_get_user_reads_the_user_by_the_session_id(staff):
    backend = ModelBackend()
    assert backend.get_user(str(staff.pk)) == staff
    assert backend.get_user(staff.pk) == staff
    assert backend.get_user(staff.pk) == staff  # compiled once, run again


@pytest.mark.parametrize("user_id", ["999999", "x", "", None, "-1", "0", str(2**70), "1.5"])
def test_an_id_of_no_user_is_no_user(staff, user_id):
    assert ModelBackend().get_user(user_id) is None


def test_an_inactive_user_is_no_user(staff):
    get_user_model().objects.filter(pk=staff.pk).update(is_active=False)
    assert ModelBackend().get_user(str(staff.pk)) is None


def test_a_login_names_our_backend(client, staff):
    login_with_2fa(client, staff)
    assert client.session[BACKEND_SESSION_KEY] == OUR_BACKEND


def _rewrite_backend(client, backend: str) -> None:
    """The stored session as Django's backend wrote it before the change."""
    row = Session.objects.get(session_key=client.session.session_key)
    data = SessionStore().decode(row.session_data)
    data[BACKEND_SESSION_KEY] = backend
    row.session_data = SessionStore().encode(data)
    row.save()


def test_a_session_written_with_djangos_backend_stays_logged_in(client, staff):
    login_with_2fa(client, staff)
    _rewrite_backend(client, DJANGO_BACKEND)
    response = client.get(reverse("staff:application_list"), follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"].startswith("/staff/d/")


def test_a_session_naming_a_backend_not_configured_is_logged_out(client, staff):
    login_with_2fa(client, staff)
    _rewrite_backend(client, "django.contrib.auth.backends.RemoteUserBackend")
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302 and reverse("account:login") in response["Location"]
