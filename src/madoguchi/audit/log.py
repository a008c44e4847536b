"""Record an access to personal data in the 閲覧ログ. Call it from every view, API endpoint or
job that shows, downloads, prints or exports an application's data."""

from .models import AccessLog


def client_ip(request) -> str | None:
    """The client address (a valid IP address or None): madoguchi.core.client_address."""
    from madoguchi.core.client_address import client_address

    return client_address(request)


def log_access(
    request,
    action: str,
    *,
    application=None,
    municipality=None,
    object_ref: str = "",
    **detail,
) -> AccessLog:
    """`municipality`: a Municipality or its id (the application's when not given)."""
    user = getattr(request, "user", None) if request is not None else None
    if application is not None and municipality is None:
        municipality = application.municipality_id
    return AccessLog.objects.create(
        # By id: the caller need not have loaded the municipality.
        municipality_id=getattr(municipality, "pk", municipality),
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        application=application,
        receipt_number=(application.receipt_number or "") if application is not None else "",
        object_ref=object_ref[:200],
        ip_address=client_ip(request) if request is not None else None,
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else ""),
        detail=detail,
    )
