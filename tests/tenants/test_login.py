"""Staff login: password, then TOTP (django-otp), with the django-axes lockout counting both
steps. Everything through the test client, as a browser would do it."""

import base64
import time

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.tenants.twofactor import PENDING_SESSION_KEY
from tests.conftest import login_with_2fa, make_staff, totp_code

PASSWORD = "x-test-password-123"
WRONG_PASSWORD_MESSAGE = "ユーザー名またはパスワードが正しくありません。"
WRONG_CODE_MESSAGE = (
    "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
)
LOCKED_MESSAGE = (
    "ログインに続けて失敗したため、このアカウントは一時的にロックされています。"
    "30分ほど待ってから、もう一度お試しください。"
)


@pytest.fixture(autouse=True)
def _no_otp_throttling(settings):
    # django-otp delays a device for 1 s, 2 s, 4 s ... after each wrong code; a real user
    # types slower than that, a test does not. The lockout is django-axes' job.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


@pytest.fixture
def handler(municipality):
    return make_staff("kodomo1", municipality, "kodomo")


@pytest.fixture
def device(handler):
    return TOTPDevice.objects.create(user=handler, name="app", confirmed=True)


def post_password(client, username="kodomo1", password=PASSWORD, next_url=None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post(reverse("account:login"), data)


def post_code(client, code, *, step="account:verify"):
    return client.post(reverse(step), {"code": code})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def text(response) -> str:
    return response.content.decode()


@pytest.mark.django_db
def test_password_then_code_logs_in_and_lands_in_the_inbox(client, device):
    response = post_password(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account:verify")
    # Not logged in between the two steps.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("staff:application_list")).status_code == 302

    page = client.get(reverse("account:verify"))
    assert page.status_code == 200
    assert 'autocomplete="one-time-code"' in text(page)

    response = post_code(client, totp_code(device))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:application_list")
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert PENDING_SESSION_KEY not in client.session
    assert (
        client.get(reverse("staff:application_list"), follow=True)
        .request["PATH_INFO"]
        .startswith("/staff/d/")
    )


@pytest.mark.django_db
def test_full_width_digits_and_spaces_are_accepted(client, device):
    post_password(client)
    code = totp_code(device)
    typed = " ".join([code[:3], code[3:]]).translate(
        str.maketrans("0123456789", "０１２３４５６７８９")
    )
    assert post_code(client, typed)["Location"] == reverse("staff:application_list")


@pytest.mark.django_db
def test_wrong_password_shows_the_message_and_does_not_start_the_second_step(client, device):
    response = post_password(client, password="not-the-password")
    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in text(response)
    assert PENDING_SESSION_KEY not in client.session
    assert client.get(reverse("account:verify"))["Location"].startswith(reverse("account:login"))


@pytest.mark.django_db
def test_unknown_user_gets_the_same_message(client, device):
    response = post_password(client, username="nobody")
    assert WRONG_PASSWORD_MESSAGE in text(response)


@pytest.mark.django_db
def test_wrong_code_message_is_exact_and_the_right_code_still_works(client, device):
    post_password(client)
    response = post_code(client, wrong(totp_code(device)))
    assert response.status_code == 200
    assert WRONG_CODE_MESSAGE in text(response)
    assert 'aria-invalid="true"' in text(response)
    assert "_auth_user_id" not in client.session
    # Letters or a short code: the same message.
    assert WRONG_CODE_MESSAGE in text(post_code(client, "12a456"))
    assert WRONG_CODE_MESSAGE in text(post_code(client, "123"))
    assert "確認コードを入力してください。" in text(post_code(client, ""))

    assert post_code(client, totp_code(device))["Location"] == reverse("staff:application_list")


@pytest.mark.django_db
def test_a_code_cannot_be_used_twice(client, device):
    code = totp_code(device)
    post_password(client)
    assert post_code(client, code).status_code == 302
    client.post(reverse("account:logout"))
    post_password(client)
    assert WRONG_CODE_MESSAGE in text(post_code(client, code))


@pytest.mark.django_db
def test_five_wrong_passwords_lock_the_account_with_the_exact_message(client, device):
    for _ in range(4):
        assert WRONG_PASSWORD_MESSAGE in text(post_password(client, password="wrong-password"))
    fifth = post_password(client, password="wrong-password")
    assert fifth.status_code == 429
    assert LOCKED_MESSAGE in text(fifth)

    # Even the right password does not help now, from another browser too.
    from django.test import Client

    for c in (client, Client()):
        response = post_password(c)
        assert response.status_code == 429
        assert LOCKED_MESSAGE in text(response)
        assert PENDING_SESSION_KEY not in c.session


@pytest.mark.django_db
def test_wrong_codes_count_toward_the_lockout(client, device):
    post_password(client)
    for _ in range(4):
        response = post_code(client, wrong(totp_code(device)))
        assert WRONG_CODE_MESSAGE in text(response)
    response = post_code(client, wrong(totp_code(device)))
    assert response.status_code == 429
    assert LOCKED_MESSAGE in text(response)
    # The second step is over, and the password no longer opens it.
    assert client.get(reverse("account:verify")).status_code == 302
    assert LOCKED_MESSAGE in text(post_password(client))


@pytest.mark.django_db
def test_password_and_code_failures_add_up(client, device):
    for _ in range(3):
        post_password(client, password="wrong-password")
    post_password(client)
    assert WRONG_CODE_MESSAGE in text(post_code(client, wrong(totp_code(device))))
    response = post_code(client, wrong(totp_code(device)))
    assert LOCKED_MESSAGE in text(response)


@pytest.mark.django_db
def test_a_successful_login_resets_the_failure_count(client, device):
    for _ in range(4):
        post_password(client, password="wrong-password")
    post_password(client)
    post_code(client, totp_code(device))
    assert not AccessAttempt.objects.filter(username="kodomo1").exists()


@pytest.mark.django_db
def test_lockout_is_per_account(client, device, municipality):
    make_staff("kaigo1", municipality, "kaigo")
    for _ in range(5):
        post_password(client, password="wrong-password")
    response = post_password(client, username="kaigo1")
    assert response.status_code == 302


@pytest.mark.django_db
def test_first_login_enrolls_an_authenticator_app(client, handler):
    response = post_password(client)
    assert response["Location"] == reverse("account:enroll")
    page = client.get(reverse("account:enroll"))
    body = text(page)
    device = TOTPDevice.objects.get(user=handler)
    assert not device.confirmed
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    assert grouped in body
    prefix = 'src="data:image/svg+xml;base64,'
    assert prefix in body
    encoded = body.split(prefix, 1)[1].split('"', 1)[0]
    assert base64.b64decode(encoded).decode().startswith("<svg")
    # Reloading keeps the same secret (the app may already have scanned it).
    assert grouped in text(client.get(reverse("account:enroll")))
    assert TOTPDevice.objects.filter(user=handler).count() == 1

    assert WRONG_CODE_MESSAGE in text(
        post_code(client, wrong(totp_code(device)), step="account:enroll")
    )
    response = post_code(client, totp_code(device), step="account:enroll")
    assert response["Location"] == reverse("staff:application_list")
    device.refresh_from_db()
    assert device.confirmed
    assert (
        client.get(reverse("staff:application_list"), follow=True)
        .request["PATH_INFO"]
        .startswith("/staff/d/")
    )

    # Next time: the code page, not the enrollment.
    client.post(reverse("account:logout"))
    assert post_password(client)["Location"] == reverse("account:verify")


@pytest.mark.django_db
def test_enrollment_is_refused_once_a_device_is_confirmed(client, device):
    post_password(client)
    assert client.get(reverse("account:enroll"))["Location"] == reverse("account:verify")
    assert TOTPDevice.objects.filter(user=device.user).count() == 1


@pytest.mark.django_db
def test_enrollment_wrong_codes_count_toward_the_lockout(client, handler):
    post_password(client)
    client.get(reverse("account:enroll"))
    for _ in range(4):
        post_code(client, "000000", step="account:enroll")
    response = post_code(client, "000000", step="account:enroll")
    assert response.status_code == 429
    assert LOCKED_MESSAGE in text(response)


@pytest.mark.django_db
def test_second_step_without_password_goes_back_to_login(client, device):
    for name in ("account:verify", "account:enroll"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.django_db
def test_second_step_expires(client, device):
    post_password(client)
    session = client.session
    session[PENDING_SESSION_KEY]["started"] = time.time() - 3600
    session.save()
    response = client.post(reverse("account:verify"), {"code": totp_code(device)}, follow=True)
    assert "時間が経ったため、もう一度ユーザー名とパスワードを入力してください。" in text(response)
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/staff/?status=received", "/staff/?status=received"),
        ("https://evil.example/steal", None),
        ("//evil.example/steal", None),
        ("javascript:alert(1)", None),
    ],
)
@pytest.mark.django_db
def test_next_is_followed_only_on_this_site(client, device, next_url, expected):
    page = client.get(reverse("account:login"), {"next": next_url})
    if expected:
        assert f'value="{expected}"' in text(page)
    post_password(client, next_url=next_url)
    response = post_code(client, totp_code(device))
    assert response["Location"] == (expected or reverse("staff:application_list"))


@pytest.mark.django_db
def test_staff_pages_send_to_login_with_next(client, device):
    response = client.get(reverse("staff:application_list"))
    assert response["Location"] == reverse("account:login") + "?next=" + reverse(
        "staff:application_list"
    )


@pytest.mark.django_db
def test_password_without_second_factor_is_not_enough(client, handler):
    client.force_login(handler)
    response = client.get(reverse("staff:application_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:login"))
    # The login page asks again instead of bouncing back.
    assert client.get(reverse("account:login")).status_code == 200


@pytest.mark.django_db
def test_verified_user_on_the_login_page_goes_on(client, handler):
    login_with_2fa(client, handler)
    response = client.get(reverse("account:login"))
    assert response["Location"] == reverse("staff:application_list")


@pytest.mark.django_db
def test_logout_is_a_post(client, handler):
    login_with_2fa(client, handler)
    assert client.get(reverse("account:logout")).status_code == 405
    response = client.post(reverse("account:logout"))
    assert response["Location"] == reverse("account:login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("staff:application_list")).status_code == 302


@pytest.mark.django_db
def test_login_page_is_japanese_and_has_labels(client):
    body = text(client.get(reverse("account:login")))
    assert "職員ログイン" in body
    assert '<label class="dads-label" for="id_username">ユーザー名</label>' in body
    assert 'autocomplete="current-password"' in body


@pytest.mark.django_db
def test_lockout_response_can_serve_as_axes_lockout_callable(rf, client):
    from django.contrib.sessions.backends.db import SessionStore

    from madoguchi.tenants.views import lockout_response

    request = rf.post("/anything/")
    request.session = SessionStore()
    request.axes_locked_out = True
    response = lockout_response(request, None, {"username": "x"})
    assert response.status_code == 429
    assert LOCKED_MESSAGE in response.content.decode()
    assert request.axes_locked_out is False
