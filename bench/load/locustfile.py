"""Locust users of the cluster load test (bench/load/cluster.py starts everything and runs
this headless; it reads the scenario bench/load/prepare.py wrote).

- Resident: files 水道使用開始届, 児童手当（認定請求） (e-mail address checked first: the link
  is read from the test's mail peer) or 粗大ごみ, step by step with the answers and
  attachments of the scenario, as a browser does (GET each step, POST it, follow the
  redirect), then confirms and reads the 受付番号 off the receipt. Each accepted submission is
  written to LOADTEST_ACCEPTED for the checks after the run.
- Staff: logs in with password and TOTP code once, then pages the inbox (first page, next
  page, 受付 filter), opens an application and moves it from 受付 to 処理中.
- Core system: polls the API list with its bearer token and follows the cursor.
- Trivial, Front, FormStep (run alone, named on the command line): /healthz (the framework's
  limit on this hardware), the front page, or one form step posted again and again (the
  per-request CPU comparison).

Every failed request is written with its time to LOADTEST_FAILURES, so the checks can tell
failures of requests in flight on a killed process from any other.

The users are FastHttpUser (geventhttpclient), Locust's own advice for more load per core:
Locust shares this machine's 2 cores with the cluster it measures, and python-requests'
HttpUser took about twice the CPU per request. Its session keeps cookies as a browser
does, but takes no `files=`: form posts are encoded here (`post_form`) as python-requests
encoded them (urlencoded, or multipart/form-data with the attachments).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import threading
import time
import uuid
from urllib.parse import urlencode

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser
from urllib3 import encode_multipart_formdata

SCENARIO = json.loads(open(os.environ["LOADTEST_SCENARIO"], encoding="utf-8").read())
LG = SCENARIO["lg_code"]
SINK = os.environ.get("LOADTEST_SINK", "")
ACCEPTED = os.environ.get("LOADTEST_ACCEPTED", os.devnull)
FAILURES = os.environ.get("LOADTEST_FAILURES", os.devnull)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STEP = re.compile(rf"/{LG}/apply/(?P<token>[A-Za-z0-9_-]+)/(?P<step>[a-z0-9_]+)/")
RECEIPT = re.compile(r'id="receipt-number">([^<]+)<')
DETAIL = re.compile(r'href="/staff/applications/(\d+)/"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')
NEXT = re.compile(r'href="\?([^"]*)" id="page-next"')
_lock = threading.Lock()
_staff = itertools.count()

# The attachments of each step, decoded once: (input name, (file name, bytes, content type)).
for _procedure in SCENARIO["procedures"]:
    for _variant in _procedure["variants"]:
        for _step in _variant["steps"]:
            _step["uploads"] = [
                (name, (file_name, base64.b64decode(content), content_type))
                for name, specs in _step["files"].items()
                for file_name, content, content_type in specs
            ]


def _append(path: str, entry: dict) -> None:
    with _lock, open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry, ensure_ascii=False) + "\n")


@events.request.add_listener
def _record_failure(request_type, name, response_time, exception, **kwargs):
    if exception is not None:
        _append(
            FAILURES,
            {"at": time.time(), "name": name, "error": str(exception)[:160]},
        )


def totp(key_hex: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 30 s, 6 digits), what an authenticator app shows."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def text_of(response) -> str:
    """The body as text; "" for a request that got no response (connection error)."""
    return response.text or ""


def csrf_of(response) -> str:
    match = CSRF.search(text_of(response))
    return match.group(1) if match else ""


def form_fields(data: dict) -> list[tuple[str, str]]:
    """The (name, value) pairs posted for `data`, as python-requests made them: one pair per
    item of a list value (none for an empty list), none for None, str() of anything else."""
    pairs = []
    for name, value in data.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is not None:
                pairs.append((name, item if isinstance(item, str) else str(item)))
    return pairs


def post_form(client, url: str, data: dict, uploads=(), **kwargs):
    """POST a form as a browser does: urlencoded, or multipart/form-data when it carries
    files (`uploads`: (input name, (file name, bytes, content type)) pairs)."""
    fields = form_fields(data)
    if uploads:
        body, content_type = encode_multipart_formdata([*fields, *uploads])
    else:
        body = urlencode(fields).encode("ascii")
        content_type = "application/x-www-form-urlencoded"
    return client.post(url, data=body, headers={"Content-Type": content_type}, **kwargs)


class Abort(Exception):
    """The journey cannot go on (the failure is already recorded by Locust)."""


def expect(response, *statuses, where=""):
    if response.status_code not in statuses:
        response.failure(f"{where}: HTTP {response.status_code}")
        raise Abort
    response.success()
    return response


class Resident(FastHttpUser):
    weight = 6
    wait_time = between(0.5, 2)

    @task
    def file_an_application(self):
        procedures = SCENARIO["procedures"]
        procedure = random.choices(procedures, [p["weight"] for p in procedures])[0]
        variant = random.choice(procedure["variants"])
        try:
            self._file(procedure, variant)
        except Abort:
            pass

    def _file(self, procedure, variant):
        slug = procedure["slug"]
        label = procedure["name"]
        page = self.client.get(f"/{LG}/procedures/{slug}/", name=f"{label}: 手続の案内")
        address = f"r{uuid.uuid4().hex[:16]}@example.jp"
        with post_form(
            self.client,
            f"/{LG}/procedures/{slug}/start/",
            {"csrfmiddlewaretoken": csrf_of(page), "email": address},
            name=f"{label}: 開始",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            expect(response, 302, where="start")
            url = response.headers["Location"]
        if procedure["email_check"]:
            url = self._email_link(address)
            with self.client.get(
                url, name=f"{label}: メール確認", allow_redirects=False, catch_response=True
            ) as response:
                expect(response, 302, where="email link")
                url = response.headers["Location"]
        for step in variant["steps"]:
            match = STEP.search(url)
            if not match or match.group("step") != step["key"]:
                raise Abort
            page = self.client.get(url, name=f"{label}: 入力画面")
            data = {**step["data"], "_action": "next", "csrfmiddlewaretoken": csrf_of(page)}
            with post_form(
                self.client,
                url,
                data,
                step["uploads"],
                name=f"{label}: 入力送信",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                expect(response, 302, where=f"step {step['key']}")
                url = response.headers["Location"]
        if not url.endswith("/confirm/"):
            raise Abort
        page = self.client.get(url, name=f"{label}: 確認画面")
        with post_form(
            self.client,
            url,
            {"csrfmiddlewaretoken": csrf_of(page)},
            name=f"{label}: 送信",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            expect(response, 302, where="submit")
            receipt_url = response.headers["Location"]
        with self.client.get(receipt_url, name=f"{label}: 受付完了", catch_response=True) as r:
            match = RECEIPT.search(text_of(r))
            if r.status_code != 200 or not match:
                r.failure("receipt page without a 受付番号")
                raise Abort
            r.success()
        _append(
            ACCEPTED,
            {
                "receipt_number": match.group(1).strip(),
                "procedure": slug,
                "attachments": variant["attachments"],
                "at": time.time(),
            },
        )
        events.request.fire(
            request_type="FLOW",
            name="完了した申請",
            response_time=0,
            response_length=0,
            exception=None,
            context={},
        )

    def _email_link(self, address: str) -> str:
        """The check link from the mail peer (delivered by a Celery worker); a resident
        waits for their mail, so this wait is not a request to the site."""
        import urllib.request

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{SINK}/mail?to={address}", timeout=5) as answer:
                bodies = json.loads(answer.read())
            for body in bodies:
                match = re.search(r"https?://[^/\s]+(/\S+)", body)
                if match:
                    return match.group(1)
            time.sleep(0.5)
        events.request.fire(
            request_type="MAIL",
            name="確認メールの到着",
            response_time=120000,
            response_length=0,
            exception=TimeoutError("no check mail within 120 s"),
            context={},
        )
        raise Abort


class Staff(FastHttpUser):
    weight = 2
    wait_time = between(1, 3)

    def on_start(self):
        self.logged_in = False
        names = SCENARIO["staff"]
        self.username = names[next(_staff) % len(names)]
        try:
            self._login()
        except Abort:
            pass

    def _login(self):
        page = self.client.get("/staff/account/login/", name="職員: ログイン画面")
        with post_form(
            self.client,
            "/staff/account/login/",
            {
                "csrfmiddlewaretoken": csrf_of(page),
                "username": self.username,
                "password": SCENARIO["staff_password"],
            },
            name="職員: パスワード",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            expect(response, 302, where="password")
        page = self.client.get("/staff/account/login/code/", name="職員: 確認コード画面")
        with post_form(
            self.client,
            "/staff/account/login/code/",
            {"csrfmiddlewaretoken": csrf_of(page), "code": totp(SCENARIO["totp_key_hex"])},
            name="職員: 確認コード",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            expect(response, 302, where="code")
        self.logged_in = True

    @task
    def work_the_inbox(self):
        if not self.logged_in:
            try:
                self._login()
            except Abort:
                return
        try:
            self._work()
        except Abort:
            pass

    def _work(self):
        with self.client.get("/staff/all/", name="職員: 受信箱", catch_response=True) as r:
            expect(r, 200, where="inbox")
            following = NEXT.search(text_of(r))
        if following:
            self.client.get(f"/staff/all/?{following.group(1)}", name="職員: 受信箱 次ページ")
        with self.client.get(
            "/staff/all/?status=received", name="職員: 受信箱 受付で絞り込み", catch_response=True
        ) as r:
            expect(r, 200, where="inbox filtered")
            ids = DETAIL.findall(text_of(r))
        if not ids:
            return
        pk = random.choice(ids[:20])
        with self.client.get(
            f"/staff/applications/{pk}/", name="職員: 申請内容照会", catch_response=True
        ) as r:
            expect(r, 200, where="review")
            version = VERSION.search(text_of(r))
            token = csrf_of(r)
        if not version:
            return
        with post_form(
            self.client,
            f"/staff/applications/{pk}/status/",
            {
                "csrfmiddlewaretoken": token,
                "to_status": "in_progress",
                "expected_version": version.group(1),
                "message": "",
            },
            name="職員: 状況の変更",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            # 409: another member of staff changed it first (the screen says so).
            expect(response, 302, 400, 409, where="status")


class CoreSystem(FastHttpUser):
    weight = 1
    wait_time = between(1, 2)

    @task
    def poll(self):
        headers = {"Authorization": f"Bearer {SCENARIO['api_token']}"}
        with self.client.get(
            "/api/v1/applications?limit=50",
            headers=headers,
            name="API: 一覧",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
                return
            cursor = r.json().get("next_cursor")
        if cursor:
            self.client.get(
                f"/api/v1/applications?limit=50&cursor={cursor}",
                headers=headers,
                name="API: 一覧 次ページ",
            )


class Trivial(FastHttpUser):
    """Only in the trivial-page phase: what the same cluster serves when the app does
    nothing (the ratio's denominator)."""

    wait_time = between(0, 0)

    @task
    def healthz(self):
        self.client.get("/healthz", name="/healthz")


class Front(FastHttpUser):
    wait_time = between(0, 0)

    @task
    def front(self):
        self.client.get(f"/{LG}/", name="トップページ")


class FormStep(FastHttpUser):
    """One 粗大ごみ step posted again and again (validated and saved each time)."""

    wait_time = between(0, 0)

    def on_start(self):
        procedure = next(p for p in SCENARIO["procedures"] if p["slug"] == "sodai_gomi")
        self.step = procedure["variants"][0]["steps"][0]
        page = self.client.get(f"/{LG}/procedures/sodai_gomi/", name="準備")
        response = post_form(
            self.client,
            f"/{LG}/procedures/sodai_gomi/start/",
            {"csrfmiddlewaretoken": csrf_of(page), "email": "step@example.jp"},
            name="準備",
            allow_redirects=False,
        )
        self.url = (response.headers or {}).get("Location", "")
        self.token = csrf_of(self.client.get(self.url, name="準備"))

    @task
    def post_step(self):
        post_form(
            self.client,
            self.url,
            {**self.step["data"], "_action": "next", "csrfmiddlewaretoken": self.token},
            name="入力送信（1ステップ）",
            allow_redirects=False,
        )
