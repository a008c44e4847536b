"""Client of the 電子申請等情報受取等API (shape: docs/mynaportal.md), over HTTP JSON.

client = MynaportalClient(base_url, login_id, password)
client.login()                                   # → access token (re-done on a 401)
client.list_applications(lg_code=..., since=..., until=..., procedure_code=...)
client.get_application("2026040100000001")      # → dict with "package" (bytes)
client.list_statuses("2026040100000001")
client.register_status("2026040100000001", status_code="03", status_label="要再申請",
                       comment="自治体コメント")
"""

import base64
import datetime
import json
import urllib.parse
from dataclasses import dataclass

from madoguchi.core import outbound

# A package is a few MB at most; anything larger is not an answer of the service.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


class MynaportalError(Exception):
    """The service could not be reached or answered with an error."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ApplicationSummary:
    receipt_number: str
    lg_code: str
    procedure_code: str
    received_at: datetime.datetime | None


JST = datetime.timezone(datetime.timedelta(hours=9), "JST")


def _parse_time(value) -> datetime.datetime | None:
    """An ISO 8601 time from the API; one written without an offset is Japan time (the
    service is Japanese; assumption, see docs/mynaportal.md). None when absent or unreadable:
    the intake then judges the package at the time of the pull and says so on the case."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=JST) if parsed.tzinfo is None else parsed


class MynaportalClient:
    def __init__(self, base_url: str, login_id: str, password: str, *, timeout=None):
        self.base_url = base_url.rstrip("/")
        self.login_id = login_id
        self.password = password
        self.timeout = timeout
        self.token: str | None = None

    def _request(self, method: str, path: str, *, body=None, query=None, auth=True):
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v})
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        if auth:
            if self.token is None:
                self.login()
            headers["Authorization"] = f"Bearer {self.token}"
        connect_timeout, read_timeout = outbound.timeouts("mynaportal")
        try:
            # The base URL is configured by a person: no internal address unless the
            # operator allowed it, no redirect followed, separate connect and read timeouts.
            response = outbound.request(
                method,
                url,
                body=data,
                headers=headers,
                connect_timeout=connect_timeout,
                read_timeout=self.timeout if self.timeout is not None else read_timeout,
                allow_http=True,
                max_bytes=MAX_RESPONSE_BYTES,
            )
        except outbound.OutboundError as exc:
            raise MynaportalError(f"マイナポータルに接続できません: {exc}") from None
        if not 200 <= response.status < 300:
            try:
                message = json.loads(response.body or b"{}").get("error", "")
            except (ValueError, AttributeError):
                message = ""
            raise MynaportalError(
                f"マイナポータルがエラーを返しました（{response.status}）: {message}"[:300],
                status=response.status,
            )
        try:
            return json.loads(response.body or b"{}")
        except ValueError as exc:
            raise MynaportalError(
                "マイナポータルに接続できません: 応答を読み取れませんでした。"
            ) from exc

    def _authed(self, method: str, path: str, **kwargs):
        try:
            return self._request(method, path, **kwargs)
        except MynaportalError as exc:
            if exc.status != 401:
                raise
            self.token = None  # expired or revoked token: log in again once
            return self._request(method, path, **kwargs)

    def login(self) -> str:
        data = self._request(
            "POST",
            "/api/v1/auth/token",
            body={"login_id": self.login_id, "password": self.password},
            auth=False,
        )
        self.token = data["access_token"]
        return self.token

    def list_applications(
        self,
        *,
        lg_code: str,
        since: datetime.datetime | None = None,
        until: datetime.datetime | None = None,
        procedure_code: str = "",
    ) -> list[ApplicationSummary]:
        data = self._authed(
            "GET",
            "/api/v1/applications",
            query={
                "lg_code": lg_code,
                "from": since.isoformat() if since else "",
                "to": until.isoformat() if until else "",
                "procedure_code": procedure_code,
            },
        )
        return [
            ApplicationSummary(
                receipt_number=str(row.get("receipt_number", "")),
                lg_code=str(row.get("lg_code", "")),
                procedure_code=str(row.get("procedure_code", "")),
                received_at=_parse_time(row.get("received_at")),
            )
            for row in data.get("applications", [])
        ]

    def get_application(self, receipt_number: str) -> dict:
        path = f"/api/v1/applications/{urllib.parse.quote(receipt_number, safe='')}"
        data = self._authed("GET", path)
        try:
            data["package"] = base64.b64decode(data.get("package") or "", validate=True)
        except (ValueError, TypeError):
            data["package"] = b""  # an undecodable package is quarantined, not lost
        data["received_at"] = _parse_time(data.get("received_at"))
        return data

    def list_statuses(self, receipt_number: str) -> list[dict]:
        path = f"/api/v1/applications/{urllib.parse.quote(receipt_number, safe='')}/statuses"
        return self._authed("GET", path).get("statuses", [])

    def register_status(
        self, receipt_number: str, *, status_code: str, status_label: str, comment: str
    ) -> dict:
        path = f"/api/v1/applications/{urllib.parse.quote(receipt_number, safe='')}/statuses"
        return self._authed(
            "POST",
            path,
            body={"status_code": status_code, "status_label": status_label, "comment": comment},
        )
