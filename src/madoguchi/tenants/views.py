"""Staff accounts: two-step login (password, then TOTP), logout, password change, and the
管理者's page to reset a member's two-factor authentication or lift a lockout."""

import logging

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.db.models import Sum
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import twofactor
from .decorators import admin_required, is_verified, verified_login_required
from .models import StaffMembership
from .permissions import admin_municipality_ids, is_staff_member, manageable_members

logger = logging.getLogger("madoguchi.security")

LOCKED_STATUS = 429


def _default_next(user) -> str:
    if not is_staff_member(user) and user.is_staff:
        return resolve_url("admin:index")
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def lockout_response(request, original_response=None, credentials=None):
    """The login page with the lockout message. Also usable as AXES_LOCKOUT_CALLABLE, so that
    any login form protected by django-axes shows the same Japanese message."""
    if hasattr(request, "session"):
        twofactor.clear_pending(request)
    response = render(
        request,
        "tenants/login.html",
        {"locked": True, "error": twofactor.LOCKED_MESSAGE, "username": "", "next": ""},
        status=LOCKED_STATUS,
    )
    # Answered here: AxesMiddleware must not replace this page with its own.
    request.axes_locked_out = False
    return response


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    next_url = twofactor.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if is_verified(request.user):
        return redirect(next_url or _default_next(request.user))
    error = ""
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        password = request.POST.get("password", "")
        if not username or not password:
            error = twofactor.MISSING_CREDENTIALS_MESSAGE
        else:
            # `request` lets django-axes refuse a locked account and count this failure.
            user = authenticate(request=request, username=username, password=password)
            if user is None:
                if getattr(request, "axes_locked_out", False):
                    return lockout_response(request)
                error = twofactor.WRONG_PASSWORD_MESSAGE
            else:
                twofactor.start_pending(request, user, next_url)
                if twofactor.confirmed_devices(user):
                    return redirect("account:verify")
                return redirect("account:enroll")
    elif request.GET.get("expired"):
        error = twofactor.EXPIRED_MESSAGE
    return render(
        request,
        "tenants/login.html",
        {"error": error, "username": username, "next": next_url},
        status=200,
    )


def _pending_or_redirect(request):
    pending = twofactor.get_pending(request)
    if pending is None:
        return None, redirect(resolve_url("account:login") + "?expired=1")
    if twofactor.is_locked(request, pending.user.get_username()):
        return None, lockout_response(request)
    return pending, None


def _complete_login(request, pending: twofactor.Pending, device: TOTPDevice):
    twofactor.clear_pending(request)
    auth_login(request, pending.user, backend=pending.backend)
    django_otp.login(request, device)
    logger.info("staff login user_id=%s device_id=%s", pending.user.pk, device.pk)
    return redirect(pending.next_url or _default_next(pending.user))


def _code_step(request, pending, devices):
    """(device, error) for a POSTed code; counts a wrong code toward the lockout."""
    code = twofactor.normalize_code(request.POST.get("code", ""))
    if not code:
        return None, twofactor.MISSING_CODE_MESSAGE, False
    device = twofactor.check_code(pending.user, devices, code)
    if device is not None:
        return device, "", False
    locked = twofactor.record_failed_code(request, pending.user.get_username())
    return None, twofactor.WRONG_CODE_MESSAGE, locked


@csrf_protect
@never_cache
def verify_view(request):
    pending, response = _pending_or_redirect(request)
    if response is not None:
        return response
    devices = twofactor.confirmed_devices(pending.user)
    if not devices:
        return redirect("account:enroll")
    error = ""
    if request.method == "POST":
        device, error, locked = _code_step(request, pending, devices)
        if device is not None:
            return _complete_login(request, pending, device)
        if locked:
            return lockout_response(request)
    return render(request, "tenants/verify.html", {"error": error})


@csrf_protect
@never_cache
def enroll_view(request):
    pending, response = _pending_or_redirect(request)
    if response is not None:
        return response
    if twofactor.confirmed_devices(pending.user):
        # Someone who only knows the password must not add a device of their own.
        return redirect("account:verify")
    device = twofactor.enrollment_device(pending.user)
    error = ""
    if request.method == "POST":
        verified, error, locked = _code_step(request, pending, [device])
        if verified is not None:
            twofactor.confirm_enrollment(verified)
            return _complete_login(request, pending, verified)
        if locked:
            return lockout_response(request)
    secret = twofactor.secret_base32(device)
    return render(
        request,
        "tenants/enroll.html",
        {
            "error": error,
            "qr_data_uri": twofactor.qr_data_uri(device.config_url),
            "secret": twofactor.grouped(secret),
            "issuer": getattr(settings, "OTP_TOTP_ISSUER", "madoguchi"),
            "account_name": pending.user.get_username(),
        },
    )


class LogoutView(auth_views.LogoutView):
    next_page = "account:login"


@method_decorator(verified_login_required, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "tenants/password_change.html"

    def get_success_url(self):
        return resolve_url("account:password_change")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("パスワードを変更しました。"))
        logger.info("password changed user_id=%s", self.request.user.pk)
        return response


# -- 管理者: members' two-factor authentication and lockouts ---------------------------------


def _locked_usernames(request, usernames: list[str]) -> set[str]:
    cool_off = get_cool_off(request)
    attempts = AccessAttempt.objects.filter(username__in=usernames)
    if cool_off:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    limit = settings.AXES_FAILURE_LIMIT
    return {
        row["username"]
        for row in attempts.values("username").annotate(failures=Sum("failures_since_start"))
        if row["failures"] >= limit
    }


@admin_required
def member_list(request):
    municipality_ids = admin_municipality_ids(request.user)
    rows = (
        StaffMembership.objects.filter(municipality_id__in=municipality_ids)
        .select_related("user", "municipality", "department")
        .order_by("municipality__lg_code", "user__username", "department__code")
    )
    users: dict[int, dict] = {}
    for membership in rows:
        entry = users.setdefault(membership.user_id, {"user": membership.user, "memberships": []})
        entry["memberships"].append(membership)
    enrolled = set(
        TOTPDevice.objects.filter(user_id__in=users, confirmed=True).values_list(
            "user_id", flat=True
        )
    )
    locked = _locked_usernames(request, [entry["user"].username for entry in users.values()])
    manageable = set(
        manageable_members(request.user).filter(pk__in=users).values_list("pk", flat=True)
    )
    members = []
    for user_id, entry in users.items():
        entry["enrolled"] = user_id in enrolled
        entry["locked"] = entry["user"].username in locked
        entry["is_self"] = user_id == request.user.pk
        entry["manageable"] = user_id in manageable
        members.append(entry)
    return render(request, "tenants/member_list.html", {"members": members})


def _manageable_member(request, user_id):
    member = manageable_members(request.user).filter(pk=user_id).first()
    if member is None:
        raise Http404("not a member of an administered municipality")
    return member


@admin_required
@require_POST
def member_reset_two_factor(request, user_id):
    member = _manageable_member(request, user_id)
    if member.pk == request.user.pk:
        messages.error(request, _("自分の2段階認証はリセットできません。"))
    else:
        twofactor.reset_devices(member, by=request.user)
        messages.success(
            request,
            _("%(username)s の2段階認証をリセットしました。次回のログイン時に登録し直します。")
            % {"username": member.get_username()},
        )
    return redirect("account:member_list")


@admin_required
@require_POST
def member_unlock(request, user_id):
    member = _manageable_member(request, user_id)
    AxesProxyHandler.reset_attempts(username=member.get_username())
    logger.info("lockout lifted user_id=%s by_user_id=%s", member.pk, request.user.pk)
    messages.success(
        request,
        _("%(username)s のロックを解除しました。") % {"username": member.get_username()},
    )
    return redirect("account:member_list")
