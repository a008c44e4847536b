#!/usr/bin/env python3
"""Sample consumer of the madoguchi API for core-system vendors (Python standard library only).

Gets an access token, pulls every case not yet acknowledged (page by page), fetches each
case's details, acknowledges it (連携済み) and, with --set-status, posts a status with a
message to the applicant.

    python tools/sample_consumer.py --base-url https://madoguchi.example.lg.jp \\
        --client-id 990019-jidou --client-secret ... [--procedure jidou_teate_nintei] \\
        [--set-status in_progress --message 審査を開始しました。]

A real consumer would store each case in its own system before acknowledging it; an error
in between leaves the case unacknowledged and it comes again next time (at least once).
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


class ApiError(Exception):
    def __init__(self, status: int, problem: dict) -> None:
        super().__init__(f"{status} {problem.get('title', '')}: {problem.get('detail', '')}")
        self.status = status
        self.problem = problem


class Client:
    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.client_id = client_id
        self.client_secret = client_secret
        self.token = ""
        self.token_expires = 0.0

    def _send(self, request: urllib.request.Request, *, retries: int = 3):
        for attempt in range(retries + 1):
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    body = response.read()
                    kind = response.headers.get("Content-Type", "")
                    return response.status, (json.loads(body) if "json" in kind else body)
            except urllib.error.HTTPError as exc:
                body = exc.read()
                try:
                    problem = json.loads(body)
                except ValueError:
                    problem = {"detail": body.decode("utf-8", "replace")}
                if exc.code == 429 and attempt < retries:
                    time.sleep(int(exc.headers.get("Retry-After", "1")))
                    continue
                raise ApiError(exc.code, problem) from None
        raise AssertionError("unreachable")

    def authenticate(self) -> None:
        data = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            }
        ).encode()
        request = urllib.request.Request(
            self.base + "/token",
            data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        _status, body = self._send(request)
        self.token = body["access_token"]
        self.token_expires = time.monotonic() + body["expires_in"] - 60

    def call(self, method: str, path_or_url: str, payload: dict | None = None):
        if not self.token or time.monotonic() > self.token_expires:
            self.authenticate()
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        return self._send(urllib.request.Request(url, data=data, headers=headers, method=method))

    def new_cases(self, procedure: str = ""):
        """Every case not yet acknowledged by this client, oldest first, page by page."""
        query = {"not_acknowledged": "true", "limit": "50"}
        if procedure:
            query["procedure"] = procedure
        url = "/applications?" + urllib.parse.urlencode(query)
        while url:
            _status, page = self.call("GET", url)
            yield from page["results"]
            url = page["next"] if page["has_more"] else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--procedure", default="")
    parser.add_argument("--set-status", default="", help="e.g. in_progress")
    parser.add_argument("--message", default="")
    args = parser.parse_args(argv)

    api = Client(args.base_url, args.client_id, args.client_secret)
    done = 0
    for summary in api.new_cases(args.procedure):
        number = urllib.parse.quote(summary["receipt_number"])
        _status, case = api.call("GET", f"/applications/{number}")
        # ... store `case` in the core system here (answers are keyed by field key) ...
        for attachment in case["attachments"]:
            if attachment["url"]:
                _s, content = api.call("GET", attachment["url"])
        status, ack = api.call("POST", f"/applications/{number}/acknowledge")
        line = f"{case['receipt_number']} {case['procedure']['slug']} 連携済み ({status})"
        if args.set_status:
            try:
                _s, result = api.call(
                    "POST",
                    f"/applications/{number}/status",
                    {
                        "status": args.set_status,
                        "message": args.message,
                        "expected_version": case["version"],
                    },
                )
                line += f" → {result['status']}"
            except ApiError as exc:
                line += f" 状況変更できず: {exc.problem.get('detail')}"
        print(line)
        done += 1
    print(f"{done} 件を取り込みました。")
    return 0


if __name__ == "__main__":
    sys.exit(main())
