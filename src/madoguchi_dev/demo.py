"""The sample municipality and demo staff accounts of the embedded default.

Idempotent: running it again keeps every row already there (and any password changed since).
"""

import base64
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from madoguchi.jp.lg_code import with_check_digit
from madoguchi.tenants.models import Department, Municipality, StaffMembership

# A fictional municipality: 99xxx is not assigned to any real 団体.
DEMO_LG_CODE = with_check_digit("99001")
DEMO_NAME = "みほん市"
DEMO_PASSWORD = "madoguchi-demo"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    department_code: str | None
    description: str


DEMO_ACCOUNTS = [
    DemoAccount("admin", StaffMembership.Role.ADMIN, None, "管理者（DX推進課・団体全体）"),
    DemoAccount("kodomo", StaffMembership.Role.HANDLER, "kodomo", "担当者（こども家庭課）"),
    DemoAccount("kaigo", StaffMembership.Role.HANDLER, "kaigo", "担当者（介護保険課）"),
    DemoAccount("suido", StaffMembership.Role.HANDLER, "suido", "担当者（水道課）"),
    DemoAccount("gesuido", StaffMembership.Role.HANDLER, "gesuido", "担当者（下水道課）"),
    DemoAccount("etsuran", StaffMembership.Role.VIEWER, None, "閲覧者（団体全体）"),
]


@transaction.atomic
def ensure_demo_municipality() -> tuple[Municipality, bool]:
    return Municipality.objects.get_or_create(
        lg_code=DEMO_LG_CODE,
        defaults={
            "name": DEMO_NAME,
            "name_kana": "みほんし",
            "prefecture": "みほん県",
            "contact_email": "info@city.mihon.example.lg.jp",
            "contact_phone": "0120-000-000",
        },
    )


@transaction.atomic
def ensure_demo_accounts(municipality: Municipality) -> list[tuple[DemoAccount, bool]]:
    """Create missing demo accounts. Departments must exist (the template loader creates them)."""
    User = get_user_model()
    created = []
    for account in DEMO_ACCOUNTS:
        user, is_new = User.objects.get_or_create(username=account.username)
        if is_new:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = account.role == StaffMembership.Role.ADMIN
            user.is_superuser = account.role == StaffMembership.Role.ADMIN
            user.save()
        department = None
        if account.department_code:
            department = Department.objects.filter(
                municipality=municipality, code=account.department_code
            ).first()
        StaffMembership.objects.get_or_create(
            user=user,
            municipality=municipality,
            department=department,
            defaults={"role": account.role},
        )
        created.append((account, is_new))
    return created


# -- Two-factor authentication for demos ------------------------------------------------------
#
# Normally a demo user enrolls their own authenticator app on first login (QR code). For
# automated demos and browser tests, `seed_demo --demo-totp` registers a device with this
# fixed, published secret for each demo account. Anyone can compute its codes: NEVER use it
# on a deployment that holds real data.
DEMO_TOTP_KEY_HEX = b"madoguchi demo totp!".hex()  # 20 bytes, like a generated key
DEMO_TOTP_DEVICE_NAME = "デモ用（固定の設定キー・本番使用禁止）"


def demo_totp_secret() -> str:
    """The fixed secret in base32, as typed into an authenticator app."""
    return base64.b32encode(bytes.fromhex(DEMO_TOTP_KEY_HEX)).decode("ascii").rstrip("=")


def demo_totp_code(at: float | None = None) -> str:
    """The current 6-digit code of the fixed demo secret (for browser tests)."""
    totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY_HEX), step=30, t0=0, digits=6)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


@transaction.atomic
def ensure_demo_totp_devices(municipality: Municipality) -> list[str]:
    """Give every demo account of the demo municipality a confirmed device with the fixed
    secret (idempotent). Returns the user names that have one."""
    usernames = []
    for account in DEMO_ACCOUNTS:
        user = (
            get_user_model()
            .objects.filter(username=account.username, memberships__municipality=municipality)
            .first()
        )
        if user is None:
            continue
        TOTPDevice.objects.get_or_create(
            user=user,
            name=DEMO_TOTP_DEVICE_NAME,
            defaults={"key": DEMO_TOTP_KEY_HEX, "confirmed": True},
        )
        usernames.append(account.username)
    return usernames
