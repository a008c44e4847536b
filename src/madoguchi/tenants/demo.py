"""The sample municipality and demo staff accounts of the embedded default.

Idempotent: running it again keeps every row already there (and any password changed since).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from madoguchi.jp.lg_code import with_check_digit

from .models import Department, Municipality, StaffMembership

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
