"""Errors as RFC 9457 problem details (`application/problem+json`), with a Japanese `detail`.

    {"type": "urn:madoguchi:problem:validation", "title": "入力内容に誤りがあります",
     "status": 422, "detail": "...", "instance": "/api/v1/applications/2026-000001/status",
     "errors": [{"field": "message", "detail": "..."}]}

`type` is one of the URNs in `TYPES` (documented in docs/api/README.md) or "about:blank"
when the HTTP status says it all.
"""

import math

from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from madoguchi.applications.lifecycle import IncompleteApplication

CONTENT_TYPE = "application/problem+json"
PREFIX = "urn:madoguchi:problem:"

TITLES = {
    400: "リクエストが正しくありません",
    401: "認証が必要です",
    403: "この操作は許可されていません",
    404: "見つかりません",
    405: "このメソッドは使えません",
    406: "この形式では応答できません",
    409: "現在の状態では実行できません",
    415: "この形式のリクエストは受け付けられません",
    422: "入力内容に誤りがあります",
    429: "リクエストが多すぎます",
}
DETAILS = {
    400: "リクエスト本文を解析できません（JSON などの形式が正しくありません）。",
    401: "認証情報が正しくないか、指定されていません。",
    403: "この操作を行う権限がありません。",
    404: "指定されたものは存在しません。",
    405: "このメソッドは使えません。",
    406: "要求された形式では応答できません。",
    415: "リクエストの形式（Content-Type）に対応していません。",
}
TYPES = {
    "validation": "入力内容の誤り（errors に項目ごとの内容）",
    "unauthenticated": "アクセストークンがない、正しくない、または期限切れ",
    "invalid-client": "client_id または client_secret が正しくない",
    "invalid-request": "トークン取得: パラメーターの不足・重複、資格情報の二重送信",
    "unsupported-grant-type": "トークン取得: grant_type が client_credentials 以外",
    "invalid-scope": "トークン取得: scope は指定できない",
    "forbidden": "申請は見えるが、その操作の権限がない",
    "not-found": "存在しない、または権限の範囲外",
    "stale": "expected_version が現在の版と違う（ほかの更新があった）",
    "transition-refused": "処理状況の規則によりその変更はできない",
    "rate-limited": "上限を超えた（Retry-After 秒後に再試行）",
}


class Problem(exceptions.APIException):
    """An error with its own problem type (and optional field errors)."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        kind: str,
        *,
        errors: list[dict] | None = None,
        **extra,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.kind = kind
        self.errors = errors
        self.extra = extra


def problem(
    status_code: int,
    detail: str,
    *,
    kind: str = "",
    instance: str = "",
    errors: list[dict] | None = None,
    **extra,
) -> dict:
    body = {
        "type": PREFIX + kind if kind else "about:blank",
        "title": TITLES.get(status_code, "エラー"),
        "status": status_code,
        "detail": detail,
        "instance": instance,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def _flatten(data, prefix: str = "") -> list[dict]:
    """DRF's nested validation errors as [{field, detail}] ("" for the whole request)."""
    out: list[dict] = []
    if isinstance(data, dict):
        for key, value in data.items():
            name = "" if key == "non_field_errors" else str(key)
            out += _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            if isinstance(value, dict | list):
                out += _flatten(value, f"{prefix}.{i}" if prefix else str(i))
            else:
                out.append({"field": prefix, "detail": str(value)})
    else:
        out.append({"field": prefix, "detail": str(data)})
    return out


def incomplete_problem(exc: IncompleteApplication) -> Problem:
    """Answers the form refuses (only a complete form is submitted): 422 with one entry per
    field error, `field` being the answer's path (e.g. "children.1.birth_date"), and the
    first step to correct."""
    return Problem(
        status.HTTP_422_UNPROCESSABLE_ENTITY,
        exc.message,
        "validation",
        errors=[{"field": error.path, "detail": error.message} for error in exc.errors],
        step=exc.step_key,
    )


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error of the API as problem+json."""
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, IncompleteApplication):
        exc = incomplete_problem(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: Django's handler (500) reports it
    code = response.status_code
    if isinstance(exc, Problem):
        body = problem(
            code, str(exc.detail), kind=exc.kind, instance=instance, errors=exc.errors, **exc.extra
        )
    elif isinstance(exc, exceptions.ValidationError):
        code = status.HTTP_422_UNPROCESSABLE_ENTITY
        errors = _flatten(exc.detail)
        body = problem(
            code,
            "入力内容に誤りがあります。errors の各項目を確認してください。",
            kind="validation",
            instance=instance,
            errors=errors,
        )
    elif isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 60))
        body = problem(
            429,
            f"リクエストの上限を超えました。{wait}秒後にもう一度お試しください。",
            kind="rate-limited",
            instance=instance,
        )
        response["Retry-After"] = str(wait)
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = 401
        detail = (
            str(exc.detail)
            if isinstance(exc, exceptions.AuthenticationFailed)
            else "Authorization ヘッダーにアクセストークン（Bearer）を指定してください。"
        )
        body = problem(401, detail, kind="unauthenticated", instance=instance)
        response["WWW-Authenticate"] = response.get(
            "WWW-Authenticate", 'Bearer realm="madoguchi-api"'
        )
    elif isinstance(exc, exceptions.PermissionDenied):
        body = problem(403, DETAILS[403], kind="forbidden", instance=instance)
    elif isinstance(exc, exceptions.NotFound):
        body = problem(404, DETAILS[404], kind="not-found", instance=instance)
    else:
        body = problem(code, DETAILS.get(code, TITLES.get(code, "エラー")), instance=instance)
    response.status_code = code
    response.data = body
    response.content_type = CONTENT_TYPE
    return response


def not_found(request, *args, **kwargs):
    """Any unknown path under /api/v1/: a problem, not the site's HTML 404 page."""
    return JsonResponse(
        problem(404, DETAILS[404], kind="not-found", instance=request.path),
        status=404,
        content_type=CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def response(status_code: int, detail: str, *, kind: str = "", request=None, **extra) -> Response:
    return Response(
        problem(status_code, detail, kind=kind, instance=request.path if request else "", **extra),
        status=status_code,
        content_type=CONTENT_TYPE,
    )
