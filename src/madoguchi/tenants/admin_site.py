"""The Django admin requires two-factor authentication too.

`admin.site` becomes an `OTPAdminSite` (django-otp's documented way: change the class of the
default site), so only a verified session of a staff user gets in. Its login page sends the
user through the staff login (password, then the authenticator app code), so there is one
login flow, with the same lockout and enrollment."""

from urllib.parse import urlencode

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import redirect, resolve_url
from django_otp.admin import OTPAdminSite

from .decorators import is_verified


class MadoguchiAdminSite(OTPAdminSite):
    def login(self, request, extra_context=None):
        if is_verified(request.user):
            # Verified but not allowed in: the admin's own page says so.
            return super().login(request, extra_context)
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or resolve_url("admin:index")
        return redirect(resolve_url("account:login") + "?" + urlencode({"next": next_url}))


def install() -> None:
    from django.contrib import admin

    admin.site.__class__ = MadoguchiAdminSite
