"""Resolve the municipality of a request and scope access to it."""

from functools import wraps

from django.http import Http404

from .models import Municipality


def with_municipality(view):
    """Decorator for views under /<lg_code>/: attaches `request.municipality` or 404s."""

    @wraps(view)
    def wrapper(request, lg_code, *args, **kwargs):
        try:
            request.municipality = Municipality.objects.get(lg_code=lg_code, is_active=True)
        except Municipality.DoesNotExist as exc:
            raise Http404("municipality") from exc
        return view(request, *args, **kwargs)

    return wrapper


def staff_municipalities(user):
    """Municipalities the user holds any role in."""
    if not user.is_authenticated:
        return Municipality.objects.none()
    return Municipality.objects.filter(memberships__user=user).distinct()
