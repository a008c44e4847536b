"""request.user and its second factor in one statement (core.authentication), and sessions
read through the cache (core.sessions): as strict as Django's AuthenticationMiddleware and
django-otp's OTPMiddleware, with fewer statements."""

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.middleware import SessionMiddleware
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.core.authentication import AuthenticationMiddleware
from tests.conftest import login_with_2fa, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(municipality):
    return make_staff("kodomo1", municipality, "kodomo")


@pytest.fixture
def cached_sessions(settings):
    settings.SESSION_ENGINE = "madoguchi.core.sessions"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "madoguchi-session-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()


def session_key(client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def load(key: str):
    """One request with the session cookie `key` through the session and authentication
    middlewares: (what the view saw, the SQL statements run)."""
    request = RequestFactory().get("/")
    request.COOKIES[django_settings.SESSION_COOKIE_NAME] = key
    seen = {}

    def view(req):
        seen["authenticated"] = req.user.is_authenticated
        seen["verified"] = req.user.is_verified()
        seen["device"] = req.user.otp_device
        seen["user_id"] = req.user.pk
        return HttpResponse()

    with CaptureQueriesContext(connection) as captured:
        SessionMiddleware(AuthenticationMiddleware(view))(request)
    seen["session"] = request.session
    return seen, [q["sql"] for q in captured.captured_queries]


def stored(key: str) -> dict:
    row = Session.objects.filter(session_key=key).first()
    return row.get_decoded() if row else {}


# -- database sessions (the embedded default) --------------------------------------------


def test_a_verified_session_reads_user_and_device_in_one_statement(client, handler):
    login_with_2fa(client, handler)
    seen, statements = load(session_key(client))
    assert seen["authenticated"] and seen["verified"]
    assert seen["device"].user_id == handler.pk
    assert len(statements) == 2  # the session row, then the device with its user
    assert "django_session" in statements[0]
    assert "otp_totp_totpdevice" in statements[1] and "auth_user" in statements[1]


def test_a_deleted_device_stops_verifying_at_once(client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    TOTPDevice.objects.filter(user=handler).delete()
    seen, _ = load(key)
    assert seen["authenticated"] and not seen["verified"]
    assert DEVICE_ID_SESSION_KEY not in stored(key)
    # and the staff pages send back to the login
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:login"))


def test_an_unconfirmed_device_does_not_verify(client, handler):
    login_with_2fa(client, handler)
    TOTPDevice.objects.filter(user=handler).update(confirmed=False)
    seen, _ = load(session_key(client))
    assert seen["authenticated"] and not seen["verified"]


def test_another_users_device_does_not_verify(client, handler, municipality):
    other = make_staff("kodomo2", municipality, "kodomo")
    theirs = TOTPDevice.objects.create(user=other, name="app", confirmed=True)
    client.force_login(handler)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = theirs.persistent_id
    session.save()
    seen, _ = load(session_key(client))
    assert seen["authenticated"] and not seen["verified"]
    assert seen["user_id"] == handler.pk
    assert DEVICE_ID_SESSION_KEY not in stored(session_key(client))


def test_an_unknown_device_id_does_not_verify(client, handler):
    client.force_login(handler)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = "otp_totp.totpdevice/99999999999999999999999"
    session.save()
    seen, _ = load(session_key(client))
    assert seen["authenticated"] and not seen["verified"]


def test_password_only_is_authenticated_but_not_verified(client, handler):
    client.force_login(handler)
    seen, statements = load(session_key(client))
    assert seen["authenticated"] and not seen["verified"]
    assert len(statements) == 2  # the session row, then the user


def test_an_inactive_user_is_anonymous(client, handler):
    login_with_2fa(client, handler)
    type(handler).objects.filter(pk=handler.pk).update(is_active=False)
    seen, _ = load(session_key(client))
    assert not seen["authenticated"] and not seen["verified"]


def test_a_changed_password_ends_the_session(client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    handler.set_password("another-password-456")
    handler.save()
    seen, _ = load(key)
    assert not seen["authenticated"]
    assert not Session.objects.filter(session_key=key).exists()


def test_a_forged_hash_ends_the_session(client, handler):
    login_with_2fa(client, handler)
    session = client.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    seen, _ = load(session_key(client))
    assert not seen["authenticated"] and not seen["verified"]


def test_a_session_of_an_unknown_backend_is_anonymous(client, handler):
    login_with_2fa(client, handler)
    session = client.session
    session["_auth_user_backend"] = "somewhere.else.Backend"
    session.save()
    seen, _ = load(session_key(client))
    assert not seen["authenticated"]


def test_anonymous_requests_run_no_statement():
    seen, statements = load("no-such-session")
    assert not seen["authenticated"] and not seen["verified"]
    assert statements == [] or all("django_session" in sql for sql in statements)


def test_logout_refuses_the_old_session_at_once(client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    client.post(reverse("account:logout"))
    seen, _ = load(key)
    assert not seen["authenticated"]


# -- sessions read through the cache ------------------------------------------------------


def test_cached_verified_session_is_one_statement(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    load(session_key(client))  # the cache holds the session from the login's save anyway
    seen, statements = load(session_key(client))
    assert seen["authenticated"] and seen["verified"]
    assert len(statements) == 1
    assert "otp_totp_totpdevice" in statements[0] and "django_session" in statements[0]


def test_cached_session_deleted_in_the_database_is_refused_at_once(
    cached_sessions, client, handler
):
    # As a logout whose cache delete was lost would leave it: gone from the database,
    # still in the cache.
    login_with_2fa(client, handler)
    key = session_key(client)
    load(key)
    Session.objects.filter(session_key=key).delete()
    seen, _ = load(key)
    assert not seen["authenticated"] and not seen["verified"]
    assert cache.get("django.contrib.sessions.cached_db" + key) is None
    again, _ = load(key)
    assert not again["authenticated"]


def test_cached_session_expired_in_the_database_is_refused(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    load(key)
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    seen, _ = load(key)
    assert not seen["authenticated"]


def test_cached_session_survives_a_cache_restart(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    cache.clear()
    seen, statements = load(key)
    assert seen["authenticated"] and seen["verified"]
    assert len(statements) == 2  # the row from the database, then user and device
    seen, statements = load(key)  # and the cache holds it again
    assert seen["verified"] and len(statements) == 1


def test_cached_session_deleted_device_stops_verifying(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    load(key)
    TOTPDevice.objects.filter(user=handler).delete()
    seen, _ = load(key)
    assert seen["authenticated"] and not seen["verified"]
    response = client.get(reverse("staff:application_list"))
    assert response["Location"].startswith(reverse("account:login"))


def test_cached_session_logout_refuses_the_old_cookie(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    assert load(key)[0]["verified"]
    client.post(reverse("account:logout"))
    seen, _ = load(key)
    assert not seen["authenticated"]
    assert SESSION_KEY not in stored(key)


def test_cached_session_changed_password_ends_it(cached_sessions, client, handler):
    login_with_2fa(client, handler)
    key = session_key(client)
    load(key)
    handler.set_password("another-password-456")
    handler.save()
    seen, _ = load(key)
    assert not seen["authenticated"]


def test_password_then_code_login_works_with_cached_sessions(cached_sessions, client, handler):
    from tests.conftest import totp_code

    device = TOTPDevice.objects.create(user=handler, name="app", confirmed=True)
    client.post(
        reverse("account:login"), {"username": "kodomo1", "password": "x-test-password-123"}
    )
    response = client.post(reverse("account:verify"), {"code": totp_code(device)})
    assert response.status_code == 302
    seen, statements = load(session_key(client))
    assert seen["verified"] and len(statements) == 1
