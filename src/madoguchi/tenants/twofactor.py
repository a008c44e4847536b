"""Two-step staff login: password, then a TOTP code from an authenticator app (django-otp).

Between the two steps the user is *not* logged in: the session only holds the id of the user
whose password was right ("pending"), for a few minutes. Only after the code is right does
the view call `django.contrib.auth.login` and `django_otp.login`.

Failures of both steps count toward the same django-axes lockout (by user name): the password
step through `authenticate(request=...)`, the code step by sending `user_login_failed` with
the user name, which axes' handler records like a wrong password.
"""

import base64
import logging
import time
import unicodedata
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_otp import verify_token
from django_otp.plugins.otp_totp.models import TOTPDevice

logger = logging.getLogger("madoguchi.security")

WRONG_PASSWORD_MESSAGE = _("ユーザー名またはパスワードが正しくありません。")
MISSING_CREDENTIALS_MESSAGE = _("ユーザー名とパスワードを入力してください。")
WRONG_CODE_MESSAGE = _(
    "確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
)
MISSING_CODE_MESSAGE = _("確認コードを入力してください。")
LOCKED_MESSAGE = _(
    "ログインに続けて失敗したため、このアカウントは一時的にロックされています。"
    "30分ほど待ってから、もう一度お試しください。"
)
EXPIRED_MESSAGE = _("時間が経ったため、もう一度ユーザー名とパスワードを入力してください。")

ENROLLED_DEVICE_NAME = "認証アプリ"
PENDING_SESSION_KEY = "madoguchi_2fa_pending"
PENDING_MAX_AGE = 10 * 60  # seconds between the password and the code


@dataclass
class Pending:
    user: object
    backend: str
    next_url: str


def start_pending(request, user, next_url: str) -> None:
    """The password was right: remember who, until the second step (new session key)."""
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "next": next_url,
        "started": time.time(),
    }


def get_pending(request) -> Pending | None:
    data = request.session.get(PENDING_SESSION_KEY)
    if not data:
        return None
    if time.time() - data.get("started", 0) > PENDING_MAX_AGE:
        clear_pending(request)
        return None
    user = get_user_model().objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        clear_pending(request)
        return None
    return Pending(user=user, backend=data["backend"], next_url=data.get("next", ""))


def clear_pending(request) -> None:
    request.session.pop(PENDING_SESSION_KEY, None)


def safe_next(request, candidate: str | None) -> str:
    """`candidate` if it is a path on this site, else ""."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


# -- lockout -------------------------------------------------------------------------------


def credentials_for(username: str) -> dict:
    return {"username": username}


def is_locked(request, username: str) -> bool:
    return AxesProxyHandler.is_locked(request, credentials_for(username))


def record_failed_code(request, username: str) -> bool:
    """Count a wrong code like a wrong password. Returns True when the account is now locked."""
    user_login_failed.send(sender=__name__, credentials=credentials_for(username), request=request)
    return bool(getattr(request, "axes_locked_out", False)) or is_locked(request, username)


# -- devices --------------------------------------------------------------------------------


def confirmed_devices(user) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk"))


def enrollment_device(user) -> TOTPDevice:
    """The unconfirmed device the user is enrolling (kept across reloads of the page, so the
    QR code does not change under the user's eyes)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=ENROLLED_DEVICE_NAME, confirmed=False)
    return device


def normalize_code(raw: str) -> str:
    """Full-width digits and spaces, as typed with a Japanese IME, to plain digits."""
    return "".join(unicodedata.normalize("NFKC", raw or "").split()).replace("-", "")


def check_code(user, devices: list[TOTPDevice], code: str) -> TOTPDevice | None:
    """The device that accepts `code` (django-otp applies its throttling and refuses a code
    already used), or None."""
    if not (code.isdigit() and len(code) == 6):
        return None
    for device in devices:
        verified = verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    return None


def confirm_enrollment(device: TOTPDevice) -> None:
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user_id=device.user_id, confirmed=False).delete()
    logger.info("2fa enrolled user_id=%s device_id=%s", device.user_id, device.pk)


def reset_devices(user, *, by) -> int:
    """Delete every OTP device of `user` (they enroll again at their next login). Sessions
    verified by a deleted device stop being verified at their next request."""
    from django_otp import devices_for_user

    count = 0
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
        count += 1
    logger.info("2fa reset user_id=%s by_user_id=%s devices=%s", user.pk, by.pk, count)
    return count


def secret_base32(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode("ascii").rstrip("=")


def grouped(secret: str, size: int = 4) -> str:
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def qr_data_uri(text: str) -> str:
    """`text` as a QR code, SVG, in a data: URI (the CSP allows data: images)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode")
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
