"""Access rules for staff and business views."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from .permissions import is_staff_member


def staff_required(view):
    """A logged-in member of staff who has passed two-factor authentication. Anything else is
    sent to the login page (or 404 for an account without any staff membership)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        is_verified = getattr(user, "is_verified", None)
        if is_verified is not None and not is_verified():
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(user):
            raise Http404("not a member of staff")
        return view(request, *args, **kwargs)

    return wrapper
