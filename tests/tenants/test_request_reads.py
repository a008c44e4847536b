"""The session and second-factor reads of every staff request (core.sessions,
tenants.otp_middleware): compiled once, but the rules are Django's and django-otp's."""

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db


def _opens_the_inbox(client) -> bool:
    """The staff entry page leads to a department's inbox (not to the login)."""
    response = client.get(reverse("staff:application_list"), follow=True)
    return response.status_code == 200 and response.request["PATH_INFO"].startswith("/staff/d/")


def _set_device(client, persistent_id):
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = persistent_id
    session.save()


@pytest.fixture
def staff(municipality):
    return make_staff("reads", municipality, "welfare")


def test_a_verified_session_opens_the_inbox(client, staff):
    login_with_2fa(client, staff)
    assert _opens_the_inbox(client)
    assert _opens_the_inbox(client)  # the compiled reads, a second time


def test_an_expired_session_is_no_session(client, staff):
    login_with_2fa(client, staff)
    Session.objects.update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302 and reverse("account:login") in response["Location"]


def test_a_deleted_session_is_no_session(client, staff):
    login_with_2fa(client, staff)
    Session.objects.all().delete()
    assert not _opens_the_inbox(client)


def test_a_changed_session_is_read_again(client, staff):
    login_with_2fa(client, staff)
    assert _opens_the_inbox(client)
    _set_device(client, "")  # the second factor taken out of the stored session
    assert not _opens_the_inbox(client)


@pytest.mark.parametrize(
    "persistent_id",
    [
        "otp_totp.totpdevice/999999",  # no such device
        "otp_totp.totpdevice/x",
        "otp_totp.totpdevice/-1",
        f"otp_totp.totpdevice/{2**70}",
        "otp_totp.nosuchmodel/1",
        "auth.user/1",  # a model, but not a device
        "nonsense",
    ],
)
def test_a_session_naming_no_device_of_the_user_is_not_verified(client, staff, persistent_id):
    login_with_2fa(client, staff)
    _set_device(client, persistent_id)
    assert not _opens_the_inbox(client)


def test_another_users_or_an_unconfirmed_device_is_not_verified(client, staff, municipality):
    other = make_staff("someone", municipality, "welfare")
    others = TOTPDevice.objects.create(user=other, name="other", confirmed=True)
    login_with_2fa(client, staff)
    _set_device(client, others.persistent_id)
    assert not _opens_the_inbox(client)
    unconfirmed = TOTPDevice.objects.create(user=staff, name="new", confirmed=False)
    login_with_2fa(client, staff)
    _set_device(client, unconfirmed.persistent_id)
    assert not _opens_the_inbox(client)
