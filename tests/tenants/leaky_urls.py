"""A URL configuration with deliberately leaky views, to prove the isolation harness
(test_isolation.py) catches them. Never included by the application."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

from madoguchi.applications.models import Application
from madoguchi.urls import urlpatterns as real_urlpatterns


@login_required
def leaky_detail(request, pk):
    return HttpResponse(Application.objects.get(pk=pk).receipt_number)


@login_required
def leaky_list(request):
    numbers = Application.objects.exclude(receipt_number=None).values_list(
        "receipt_number", flat=True
    )
    return HttpResponse(" ".join(numbers))


def leaky_public(request, pk):
    return HttpResponse("hello")


def mystery(request, mystery_id):
    return HttpResponse("?")


leaky = (
    [
        path("leaky/<int:pk>/", leaky_detail, name="leaky_detail"),
        path("leaky/", leaky_list, name="leaky_list"),
        path("public/<int:pk>/", leaky_public, name="leaky_public"),
        path("mystery/<int:mystery_id>/", mystery, name="mystery"),
    ],
    "audit",
)

urlpatterns = [
    entry for entry in real_urlpatterns if getattr(entry, "namespace", None) != "audit"
] + [path("staff/audit/", include(leaky))]
