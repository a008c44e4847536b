"""Access rules for staff and business views.

Every staff view is wrapped in one of these. Anonymous users and users who have given their
password but not passed two-factor authentication are sent to the login page; a logged-in,
verified user without the required role gets a 404 (never 403, so existence is not revealed).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from .permissions import is_any_admin, is_any_handler, is_staff_member


def is_verified(user) -> bool:
    """Logged in with password *and* a confirmed second factor (django-otp)."""
    if not getattr(user, "is_authenticated", False):
        return False
    check = getattr(user, "is_verified", None)
    return bool(check is not None and check())


def verified_login_required(view):
    """Logged in with password and two-factor authentication; no staff role needed
    (password change, the Django admin's superusers)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_verified(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _role_required(test, reason: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not is_verified(request.user):
                return redirect_to_login(request.get_full_path())
            if not test(request.user):
                raise Http404(reason)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def staff_required(view):
    """A logged-in member of staff (any role) who has passed two-factor authentication.
    Anything else is sent to the login page (or 404 for an account without any staff
    membership)."""
    return _role_required(is_staff_member, "not a member of staff")(view)


def handler_required(view):
    """管理者 or 担当者 somewhere (a 閲覧者 only gets 404). Per-application rights still go
    through `applications.permissions.can_handle`."""
    return _role_required(is_any_handler, "not a handler")(view)


def admin_required(view):
    """管理者 of at least one municipality. Per-municipality rights still go through
    `permissions.is_admin` / `permissions.manageable_members`."""
    return _role_required(is_any_admin, "not an administrator")(view)
