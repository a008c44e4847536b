"""The first middleware of the stack (`settings.MIDDLEWARE[0]`).

1. `/healthz`, `/readyz` and `/metrics` are answered here, before host validation and the
   HTTPS redirect (the orchestrator and Prometheus reach the pod by its own address).
2. Every other request gets a request id (the load balancer's `X-Request-ID` when it is
   well formed, else a new one), bound for the logs and handed on to the tasks and outbox
   messages the request starts; the response carries it back in `X-Request-ID`.
3. The deployment role (`ops.roles`): a URL of the other side answers 404 before any
   session, authentication or database work.
4. One access-log line per request — method, URL name, route pattern, status, duration —
   and the latency metric. Never the path or the query string: they hold tokens and search
   words.
"""

from __future__ import annotations

import logging
import time

from django.http import Http404
from django.urls import Resolver404, resolve

from . import context, health, metrics, roles

access_logger = logging.getLogger("madoguchi.access")

HEALTH_PATHS = {"/healthz", "/healthz/"}
READY_PATHS = {"/readyz", "/readyz/"}
METRICS_PATHS = {"/metrics", "/metrics/"}


class OpsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path in HEALTH_PATHS:
            return health.liveness_response()
        if path in READY_PATHS:
            return health.readiness_response()
        if path in METRICS_PATHS:
            response = metrics.metrics_response(request)
            if response is not None:
                return response

        request_id = context.accept(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id
        token = context.set_current(request_id)
        started = time.perf_counter()
        try:
            self._check_role(path)
            response = self.get_response(request)
        except Http404:
            # Raised by the role check before the stack below was entered: render the
            # project's ordinary 404 page through Django's own handler.
            from django.core.handlers.exception import response_for_exception

            response = response_for_exception(request, Http404())
        finally:
            context.reset(token)
        elapsed = time.perf_counter() - started
        response["X-Request-ID"] = request_id
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else "<unmatched>"
        metrics.observe_request(view, request.method, response.status_code, elapsed)
        access_logger.info(
            "%s %s %s %.1fms",
            request.method,
            view,
            response.status_code,
            elapsed * 1000,
            extra={
                "request_id": request_id,
                "method": request.method,
                "view": view,
                "route": match.route if match is not None else "",
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )
        return response

    @staticmethod
    def _check_role(path: str) -> None:
        role = roles.current_role()
        if role == roles.ALL:
            return
        try:
            match = resolve(path)
        except Resolver404:
            if path.endswith("/"):
                return  # unknown: the resolver below answers 404
            # APPEND_SLASH would redirect to the slashed URL: judge that one, so the
            # redirect does not tell that a back-office URL exists.
            try:
                match = resolve(path + "/")
            except Resolver404:
                return
        if not roles.serves(role, roles.side(match.route, match.view_name)):
            raise Http404
