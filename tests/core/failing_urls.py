"""Views that fail on purpose, to show the project's error pages. Never included by the
application."""

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.urls import path

from madoguchi.urls import urlpatterns as real_urlpatterns

SECRET = "secret-detail-1234567890"


def crash(request):
    raise RuntimeError(SECRET)


def forbidden(request):
    raise PermissionDenied(SECRET)


def bad(request):
    raise BadRequest(SECRET)


def suspicious(request):
    raise SuspiciousOperation(SECRET)


urlpatterns = [
    path("fail/500/", crash),
    path("fail/403/", forbidden),
    path("fail/400/", bad),
    path("fail/suspicious/", suspicious),
    *real_urlpatterns,
]
