import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from madoguchi.catalog.loader import available_template_keys
from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Municipality, StaffMembership
from madoguchi_dev.demo import DEMO_LG_CODE, DEMO_PASSWORD


def run_seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_seed_creates_municipality_procedures_and_prints_accounts():
    output = run_seed()
    municipality = Municipality.objects.get(lg_code=DEMO_LG_CODE)
    assert municipality.name == "みほん市"
    assert Procedure.objects.for_municipality(municipality).count() == len(
        available_template_keys()
    )
    water = Procedure.objects.get(municipality=municipality, slug="suido_shiyou_kaishi")
    assert sorted(water.departments.values_list("code", flat=True)) == ["gesuido", "suido"]
    for username in ["admin", "kodomo", "kaigo", "suido", "gesuido", "etsuran"]:
        assert username in output
    assert f"初期パスワード   : {DEMO_PASSWORD}" in output
    assert f"http://testserver/{DEMO_LG_CODE}/" in output
    kodomo = StaffMembership.objects.get(user__username="kodomo")
    assert (kodomo.department.code, kodomo.role) == ("kodomo", "handler")


@pytest.mark.django_db
def test_running_the_seed_again_keeps_data_and_changed_passwords():
    run_seed()
    user = get_user_model().objects.get(username="kodomo")
    user.set_password("changed-by-the-municipality-1")
    user.save()
    procedure = Procedure.objects.get(slug="sodai_gomi")
    procedure.fee = "1点300円"
    procedure.save()

    output = run_seed()
    assert "は登録済みです" in output
    user.refresh_from_db()
    assert user.check_password("changed-by-the-municipality-1")
    assert Procedure.objects.get(slug="sodai_gomi").fee == "1点300円"
    assert Procedure.objects.count() == len(available_template_keys())
    assert StaffMembership.objects.count() == 6


def run_seed_with(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_seed_explains_enrollment_and_creates_no_device_by_default():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    output = run_seed()
    assert "初回ログイン時に表示されるQRコード" in output
    assert "seed_demo --demo-totp" in output
    assert not TOTPDevice.objects.exists()


@pytest.mark.django_db
def test_demo_totp_flag_registers_the_fixed_secret_idempotently(client, settings):
    from django.urls import reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from madoguchi_dev.demo import DEMO_TOTP_KEY_HEX, demo_totp_code, demo_totp_secret

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    output = run_seed_with("--demo-totp")
    assert demo_totp_secret() in output
    assert "本番使用禁止" in output
    run_seed_with("--demo-totp")
    assert TOTPDevice.objects.count() == 6
    assert set(TOTPDevice.objects.values_list("key", flat=True)) == {DEMO_TOTP_KEY_HEX}
    assert StaffMembership.objects.count() == 6

    client.post(reverse("account:login"), {"username": "kodomo", "password": DEMO_PASSWORD})
    response = client.post(reverse("account:verify"), {"code": demo_totp_code()})
    assert response["Location"] == reverse("staff:application_list")
    assert (
        client.get(reverse("staff:application_list"), follow=True)
        .request["PATH_INFO"]
        .startswith("/staff/d/")
    )


def test_demo_totp_code_command_prints_the_current_code():
    import re

    from madoguchi_dev.demo import demo_totp_code

    out = io.StringIO()
    call_command("demo_totp_code", stdout=out)
    assert re.fullmatch(r"\d{6}\n", out.getvalue())
    assert out.getvalue().strip() in {demo_totp_code(), demo_totp_code(at=None)}
