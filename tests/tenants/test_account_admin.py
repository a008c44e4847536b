"""The Django admin behind 2FA, password change, and the 管理者's page to reset a member's
two-factor authentication or lift a lockout."""

import logging

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.urls import reverse
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import login_with_2fa, make_staff, totp_code

PASSWORD = "x-test-password-123"


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password=PASSWORD)


def test_admin_site_is_an_otp_admin_site():
    assert isinstance(admin.site, OTPAdminSite)
    assert admin.site.name == "admin"


@pytest.mark.django_db
def test_admin_requires_two_factor(client, superuser):
    client.force_login(superuser)  # password only
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == reverse("account:login") + "?next=%2Fadmin%2F"


@pytest.mark.django_db
def test_admin_works_with_two_factor(client, superuser):
    login_with_2fa(client, superuser)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/tenants/municipality/").status_code == 200


@pytest.mark.django_db
def test_admin_login_goes_through_the_staff_login(client, superuser, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=superuser, name="app", confirmed=True)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("account:login") + "?next=%2Fadmin%2F"
    client.post(
        reverse("account:login"), {"username": "root", "password": PASSWORD, "next": "/admin/"}
    )
    response = client.post(reverse("account:verify"), {"code": totp_code(device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_superuser_without_membership_lands_in_the_admin(client, superuser, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    device = TOTPDevice.objects.create(user=superuser, name="app", confirmed=True)
    client.post(reverse("account:login"), {"username": "root", "password": PASSWORD})
    response = client.post(reverse("account:verify"), {"code": totp_code(device)})
    assert response["Location"] == reverse("admin:index")


@pytest.mark.django_db
def test_verified_non_staff_user_sees_the_admin_refusal_without_a_loop(client, municipality):
    handler = make_staff("kodomo1", municipality, "kodomo")
    login_with_2fa(client, handler)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("admin:login"))


# -- password change -------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_requires_two_factor(client, municipality):
    handler = make_staff("kodomo1", municipality, "kodomo")
    client.force_login(handler)
    response = client.get(reverse("account:password_change"))
    assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.django_db
def test_password_change(client, municipality):
    handler = make_staff("kodomo1", municipality, "kodomo")
    login_with_2fa(client, handler)
    page = client.get(reverse("account:password_change"))
    assert page.status_code == 200
    assert "パスワードの変更" in page.content.decode()

    too_short = client.post(
        reverse("account:password_change"),
        {"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"},
    )
    assert too_short.status_code == 200
    assert 'aria-invalid="true"' in too_short.content.decode()

    new = "a-much-better-passphrase-2025"
    response = client.post(
        reverse("account:password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
        follow=True,
    )
    assert "パスワードを変更しました。" in response.content.decode()
    handler.refresh_from_db()
    assert handler.check_password(new)
    # Still logged in and still verified.
    assert (
        client.get(reverse("staff:application_list"), follow=True)
        .request["PATH_INFO"]
        .startswith("/staff/d/")
    )


# -- 管理者: reset 2FA, lift a lockout ---------------------------------------------------------


@pytest.fixture
def people(municipality, other_municipality):
    admin_a = make_staff("admin_a", municipality, role="admin")
    handler_a = make_staff("kodomo_a", municipality, "kodomo")
    handler_b = make_staff("kodomo_b", other_municipality, "kodomo")
    admin_b = make_staff("admin_b", other_municipality, role="admin")
    for user in (handler_a, handler_b):
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return admin_a, handler_a, handler_b, admin_b


@pytest.mark.django_db
def test_admin_lists_own_municipality_members_only(client, people):
    admin_a, handler_a, handler_b, _ = people
    login_with_2fa(client, admin_a)
    body = client.get(reverse("account:member_list")).content.decode()
    assert "kodomo_a" in body
    assert "kodomo_b" not in body
    assert "admin_b" not in body
    assert "登録済み" in body


@pytest.mark.django_db
def test_admin_resets_a_members_two_factor(client, people, caplog):
    admin_a, handler_a, _, _ = people
    login_with_2fa(client, admin_a)
    with caplog.at_level(logging.INFO, logger="madoguchi.security"):
        response = client.post(
            reverse("account:member_reset_two_factor", args=[handler_a.pk]), follow=True
        )
    assert "kodomo_a の2段階認証をリセットしました。" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=handler_a).exists()
    record = next(r for r in caplog.records if "2fa reset" in r.getMessage())
    assert f"user_id={handler_a.pk}" in record.getMessage()
    assert "kodomo_a" not in record.getMessage()  # ids, not names


@pytest.mark.django_db
def test_a_reset_ends_the_members_verified_sessions(client, people):
    from django.test import Client

    admin_a, handler_a, _, _ = people
    member_client = login_with_2fa(Client(), handler_a)
    assert (
        member_client.get(reverse("staff:application_list"), follow=True)
        .request["PATH_INFO"]
        .startswith("/staff/d/")
    )
    login_with_2fa(client, admin_a)
    client.post(reverse("account:member_reset_two_factor", args=[handler_a.pk]))
    response = member_client.get(reverse("staff:application_list"))
    assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.django_db
def test_admin_cannot_reset_another_municipalitys_member(client, people):
    admin_a, _, handler_b, _ = people
    login_with_2fa(client, admin_a)
    response = client.post(reverse("account:member_reset_two_factor", args=[handler_b.pk]))
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=handler_b).exists()


@pytest.mark.django_db
def test_handler_cannot_reset_anyone(client, people):
    _, handler_a, _, _ = people
    colleague = make_staff("kodomo_a2", handler_a.memberships.first().municipality, "kodomo")
    TOTPDevice.objects.create(user=colleague, name="app", confirmed=True)
    login_with_2fa(client, handler_a)
    assert client.get(reverse("account:member_list")).status_code == 404
    response = client.post(reverse("account:member_reset_two_factor", args=[colleague.pk]))
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=colleague).exists()


@pytest.mark.django_db
def test_admin_cannot_reset_themselves(client, people):
    admin_a = people[0]
    login_with_2fa(client, admin_a)
    response = client.post(
        reverse("account:member_reset_two_factor", args=[admin_a.pk]), follow=True
    )
    assert "自分の2段階認証はリセットできません。" in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin_a).exists()


@pytest.mark.django_db
def test_reset_is_post_only(client, people):
    admin_a, handler_a, _, _ = people
    login_with_2fa(client, admin_a)
    response = client.get(reverse("account:member_reset_two_factor", args=[handler_a.pk]))
    assert response.status_code == 405


@pytest.mark.django_db
def test_admin_sees_and_lifts_a_lockout(client, people):
    admin_a, handler_a, _, _ = people
    from django.test import Client

    other = Client()
    for _ in range(5):
        other.post(reverse("account:login"), {"username": "kodomo_a", "password": "wrong-pass"})
    login_with_2fa(client, admin_a)
    body = client.get(reverse("account:member_list")).content.decode()
    assert "ロック中" in body
    response = client.post(reverse("account:member_unlock", args=[handler_a.pk]), follow=True)
    assert "kodomo_a のロックを解除しました。" in response.content.decode()
    assert not AccessAttempt.objects.filter(username="kodomo_a").exists()
    response = other.post(reverse("account:login"), {"username": "kodomo_a", "password": PASSWORD})
    assert response["Location"] == reverse("account:verify")


# -- who may act on whom: the 管理者 of every municipality a member belongs to --------------


@pytest.fixture
def matrix(municipality, other_municipality, django_user_model):
    """A: municipality, B: other_municipality. `both` is 管理者 of A and a 担当者 of B; `root`
    is a superuser who is also a member of A."""
    from madoguchi.tenants.models import StaffMembership

    admin_a = make_staff("admin_a", municipality, role="admin")
    admin_b = make_staff("admin_b", other_municipality, role="admin")
    admin_ab = make_staff("admin_ab", municipality, role="admin")
    StaffMembership.objects.create(user=admin_ab, municipality=other_municipality, role="admin")
    member_a = make_staff("member_a", municipality, "kodomo")
    both = make_staff("both", municipality, role="admin")
    StaffMembership.objects.create(user=both, municipality=other_municipality, role="handler")
    root = django_user_model.objects.create_superuser("root_a", password=PASSWORD)
    StaffMembership.objects.create(user=root, municipality=municipality, role="handler")
    for user in (member_a, both, root, admin_a, admin_b):
        TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    return {
        "admin_a": admin_a,
        "admin_b": admin_b,
        "admin_ab": admin_ab,
        "member_a": member_a,
        "both": both,
        "root": root,
    }


# (actor, target, may act): a 管理者 acts on a member only when 管理者 of every municipality
# the member belongs to, and never on a superuser.
MATRIX = [
    ("admin_a", "member_a", True),
    ("admin_a", "both", False),  # also B's member: B's business too
    ("admin_a", "root", False),  # a superuser
    ("admin_a", "admin_b", False),
    ("admin_b", "member_a", False),
    ("admin_b", "both", False),  # the fault: B's 管理者 reset A's 管理者
    ("admin_b", "root", False),
    ("admin_b", "admin_a", False),
    ("admin_ab", "member_a", True),
    ("admin_ab", "both", True),
    ("admin_ab", "admin_a", True),
    ("admin_ab", "admin_b", True),
    ("admin_ab", "root", False),
    ("both", "member_a", True),
    ("both", "admin_b", False),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("actor", "target", "allowed"), MATRIX)
def test_who_may_reset_whose_two_factor(client, matrix, actor, target, allowed):
    login_with_2fa(client, matrix[actor])
    target_user = matrix[target]
    TOTPDevice.objects.get_or_create(user=target_user, name="app", defaults={"confirmed": True})
    response = client.post(reverse("account:member_reset_two_factor", args=[target_user.pk]))
    if allowed:
        assert response.status_code == 302
        assert not TOTPDevice.objects.filter(user=target_user).exists()
    else:
        assert response.status_code == 404
        assert TOTPDevice.objects.filter(user=target_user).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("actor", "target", "allowed"), MATRIX)
def test_who_may_unlock_whom(client, matrix, actor, target, allowed):
    target_user = matrix[target]
    AccessAttempt.objects.create(
        username=target_user.username,
        ip_address="192.0.2.1",
        user_agent="test",
        failures_since_start=5,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/",
    )
    login_with_2fa(client, matrix[actor])
    response = client.post(reverse("account:member_unlock", args=[target_user.pk]))
    assert response.status_code == (302 if allowed else 404)
    assert AccessAttempt.objects.filter(username=target_user.username).exists() is not allowed


@pytest.mark.django_db
def test_member_list_offers_no_action_on_a_member_of_another_municipality(client, matrix):
    login_with_2fa(client, matrix["admin_b"])
    body = client.get(reverse("account:member_list")).content.decode()
    assert "both" in body  # listed: a member of B
    assert reverse("account:member_reset_two_factor", args=[matrix["both"].pk]) not in body
    assert "ここでは操作できません" in body
    login_with_2fa(client, matrix["admin_a"])
    body = client.get(reverse("account:member_list")).content.decode()
    assert reverse("account:member_reset_two_factor", args=[matrix["member_a"].pk]) in body
    assert reverse("account:member_reset_two_factor", args=[matrix["root"].pk]) not in body
