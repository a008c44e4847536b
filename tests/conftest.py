"""Fixtures shared by the whole suite. Tests use the real database (SQLite or PostgreSQL,
whichever DATABASE_URL names); nothing of our own is mocked."""

import pytest
from hypothesis import settings as hypothesis_settings

from madoguchi.jp.lg_code import with_check_digit

# Property tests check rules, not speed (speed is measured in bench/): no per-example
# deadline, which a busy machine would turn into random failures.
hypothesis_settings.register_profile("madoguchi", deadline=None)
hypothesis_settings.load_profile("madoguchi")


# -- No personal data in any log line of the whole run ---------------------------------------
#
# Every log record of the run, on any logger, is formatted as production writes it (the JSON
# formatter and the plain one) and searched for the personal data the fixtures use (names,
# addresses, 個人番号, e-mail addresses, phone numbers, answers). Each process checks its own
# records: under pytest-xdist every worker checks what its tests logged, and a leak fails the
# run as an error in the teardown of that worker's last test (a report xdist passes on,
# unlike a worker's exit status).


def _fixture_personal_data() -> list[str]:
    from tests import formgen
    from tests.api import conftest as api
    from tests.audit import test_no_personal_data_in_logs as audit

    values = set(audit.SECRETS) | {api.MY_NUMBER, api.CHILD_NUMBER, "山田太郎"}
    for family, given, family_kana, given_kana in formgen.NAMES:
        for separator in ("", " ", "\u3000"):
            values.add(f"{family}{separator}{given}")
            values.add(f"{family_kana}{separator}{given_kana}")
    values |= set(formgen.ADDRESSES) | set(formgen.EMAILS) | set(formgen.HOLDERS)
    values |= set(formgen.PHONES) | {phone.replace("-", "") for phone in formgen.PHONES}
    answers = api.ANSWERS["applicant_name"]
    values.add(answers["family"] + answers["given"])
    return sorted(v for v in values if len(v) >= 4 or any(ord(c) > 0x2FFF for c in v))


class _LogLeaks:
    """Formats each record as the deployed handlers would and keeps those that leak."""

    def __init__(self, secrets: list[str]):
        import logging

        from madoguchi.ops.logs import JsonFormatter, PlainFormatter

        self.secrets = secrets
        self.formatters = [JsonFormatter(), PlainFormatter()]
        self.records = 0
        self.leaks: list[str] = []
        self._original = logging.Logger.callHandlers
        leaks = self

        def call_handlers(logger, record):
            leaks.inspect(record)
            return leaks._original(logger, record)

        logging.Logger.callHandlers = call_handlers

    def inspect(self, record) -> None:
        self.records += 1
        for formatter in self.formatters:
            try:
                line = formatter.format(record)
            except Exception:
                line = str(record.msg)
            found = [secret for secret in self.secrets if secret in line]
            if found:
                self.leaks.append(f"{record.name} {record.levelname}: {', '.join(found)}")
                return

    def close(self) -> None:
        import logging

        logging.Logger.callHandlers = self._original


@pytest.fixture(scope="session", autouse=True)
def _no_personal_data_in_any_log_line():
    leaks = _LogLeaks(_fixture_personal_data())
    try:
        yield leaks
    finally:
        leaks.close()
    assert not leaks.leaks, (
        f"personal data of the fixtures in {len(leaks.leaks)} of {leaks.records} log records: "
        + "; ".join(sorted(set(leaks.leaks))[:20])
    )


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits and quotas count in the cache: each test starts with none used."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = "http://testserver"
    # Outbox messages are delivered in the test's own thread (as an eager Celery task), so a
    # test sees the mail once the request returns; tests/outbox/test_stalled_peers.py runs
    # the embedded default's background delivery thread instead.
    settings.MADOGUCHI_OUTBOX_INLINE = True


@pytest.fixture
def municipality(db):
    from madoguchi.tenants.models import Municipality

    return Municipality.objects.create(lg_code="131016", name="千代田区", prefecture="東京都")


@pytest.fixture
def other_municipality(db):
    from madoguchi.tenants.models import Municipality

    return Municipality.objects.create(
        lg_code=with_check_digit("01213"), name="苫小牧市", prefecture="北海道"
    )


@pytest.fixture
def loaded_municipality(municipality):
    """The municipality with every standard template loaded and published."""
    from madoguchi.catalog.loader import load_standard_templates

    load_standard_templates(municipality)
    return municipality


def login_with_2fa(client, user):
    """Log `user` in as if they had passed password and TOTP: a confirmed TOTP device and
    the django-otp session key that marks the session as verified."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def totp_code(device, *, at: float | None = None) -> str:
    """The code an authenticator app would show now (or at `at`) for a django-otp TOTP device."""
    import time

    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def make_staff(username, municipality, department_code=None, role="handler", *, password=None):
    """A user with one StaffMembership (the department is created if missing)."""
    from django.contrib.auth import get_user_model

    from madoguchi.tenants.models import Department, StaffMembership

    user = get_user_model().objects.create_user(
        username, password=password or "x-test-password-123"
    )
    department = None
    if department_code:
        department, _ = Department.objects.get_or_create(
            municipality=municipality, code=department_code, defaults={"name": department_code}
        )
    StaffMembership.objects.create(
        user=user, municipality=municipality, department=department, role=role
    )
    return user
