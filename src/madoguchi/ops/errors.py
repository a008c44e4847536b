"""Optional error reporting (`SENTRY_DSN`): the Sentry SDK, with personal data scrubbed.

What is sent: the exception's type and frames (file, function, line — no local variables),
the URL name and the request id, the release and environment. What is never sent: request
bodies, query strings, cookies, headers other than a safe few, user details, exception
messages (a database error quotes the row), log messages of breadcrumbs.
"""

from __future__ import annotations

from typing import Any

from . import context

SAFE_HEADERS = {"content-type", "content-length", "user-agent", "x-request-id"}
SCRUBBED = "[scrubbed]"


def scrub_event(event: dict[str, Any], hint: dict | None = None) -> dict[str, Any]:
    """Sentry's before_send: keep what locates a fault, drop what could identify a person."""
    event.pop("user", None)
    event.pop("server_name", None)
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "query_string", "cookies", "env"):
            request.pop(key, None)
        headers = request.get("headers") or {}
        request["headers"] = {k: v for k, v in headers.items() if k.lower() in SAFE_HEADERS}
        # A path can hold a resume or status token: keep only the route, in tags below.
        request["url"] = SCRUBBED
    for exception in (event.get("exception") or {}).get("values") or []:
        exception["value"] = SCRUBBED
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    if "logentry" in event:
        event["logentry"] = {"message": SCRUBBED}
    event.pop("message", None)
    breadcrumbs = event.get("breadcrumbs")
    values = breadcrumbs.get("values") if isinstance(breadcrumbs, dict) else breadcrumbs
    for crumb in values or []:
        crumb.pop("data", None)
        if crumb.get("message"):
            crumb["message"] = SCRUBBED
    event.pop("extra", None)
    tags = event.setdefault("tags", {})
    request_id = context.current()
    if request_id:
        tags["request_id"] = request_id
    return event


def init_sentry(
    dsn: str,
    *,
    environment: str,
    release: str | None,
    traces_sample_rate: float = 0.0,
    transport=None,
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    options: dict[str, Any] = {
        "dsn": dsn,
        "environment": environment,
        "release": release,
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_send_transaction": scrub_event,
        "traces_sample_rate": traces_sample_rate,
        "integrations": [DjangoIntegration(), CeleryIntegration()],
    }
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
