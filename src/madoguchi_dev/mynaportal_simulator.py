"""A local simulator of マイナポータル's 電子申請等情報受取等API, run as its own process:

    madoguchi mynaportal-simulator --port 8765 --data-dir var/mynaportal-sim

State (applications, registered statuses, access tokens) lives in `<data-dir>/state.sqlite3`,
so a restarted simulator still has everything. Test card keys and certificates (made with
`madoguchi_dev.testca`) are read from `<data-dir>/cards/<card>.key.pem` and
`<card>.cert.pem`. The API shape is documented in docs/mynaportal.md (this project's
assumption modelled on the public outline of the real API, not the real specification).

Endpoints (JSON unless noted):
    POST /api/v1/auth/token                          {"login_id","password"} → {"access_token"}
    GET  /api/v1/applications?lg_code&from&to&procedure_code     list (受付番号, 手続, 受付日時)
    GET  /api/v1/applications/<受付番号>                one application with its package (base64)
    GET  /api/v1/applications/<受付番号>/statuses       registered 申請処理状況
    POST /api/v1/applications/<受付番号>/statuses       {"status_code","status_label","comment"}
    GET  /api/v1/statuses                             every registered status (for tests)
    POST /api/v1/resident/applications                "submit as a resident" (JSON, signed)
    POST /api/v1/resident/raw                         store a ready-made package (tests;
                                                      "received_at": a time, or null for none)
    GET|POST /resident/apply                          the same as an HTML form (demo, browser)
    GET  /statuses                                    HTML list of registered statuses
"""

import base64
import datetime
import html
import json
import secrets
import sqlite3
import threading
import time
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from madoguchi.channels.mynaportal import package as pkg

JST = datetime.timezone(datetime.timedelta(hours=9))
SCHEMA = """
create table if not exists applications (
    receipt_number text primary key, lg_code text, procedure_code text,
    received_at text, package blob);
create table if not exists statuses (
    id integer primary key autoincrement, receipt_number text, status_code text,
    status_label text, comment text, registered_at text);
create table if not exists tokens (token text primary key, created_at text);
create table if not exists counter (day text primary key, value integer);
"""


class Store:
    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "cards").mkdir(exist_ok=True)
        self.path = self.data_dir / "state.sqlite3"
        self.lock = threading.Lock()
        with self.connect() as db:
            db.executescript(SCHEMA)

    def connect(self):
        return sqlite3.connect(self.path, timeout=30)

    def query(self, sql, params=()):
        with self.lock, self.connect() as db:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(sql, params).fetchall()]

    def execute(self, sql, params=()):
        with self.lock, self.connect() as db:
            return db.execute(sql, params).lastrowid

    def next_receipt_number(self) -> str:
        day = datetime.datetime.now(JST).strftime("%Y%m%d")
        with self.lock, self.connect() as db:
            db.execute(
                "insert into counter(day, value) values (?, 1) "
                "on conflict(day) do update set value = value + 1",
                (day,),
            )
            (value,) = db.execute("select value from counter where day = ?", (day,)).fetchone()
        return f"{day}{value:08d}"

    def add_application(self, receipt, lg_code, procedure_code, received_at, raw: bytes):
        # received_at: マイナポータル's reception time (受付日時), reported in the listing and
        # with the application; None stores a package the API reports without one.
        self.execute(
            "insert into applications values (?, ?, ?, ?, ?)",
            (receipt, lg_code, procedure_code, received_at and received_at.isoformat(), raw),
        )


class SimulatorError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sign_as_resident(store: Store, *, card: str, data_xml: bytes, attachments: dict) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from madoguchi.identity import jpki

    cards = store.data_dir / "cards"
    key_path, cert_path = cards / f"{card}.key.pem", cards / f"{card}.cert.pem"
    if not card or "/" in card or not key_path.exists() or not cert_path.exists():
        raise SimulatorError(400, f"テスト用カード「{card}」がありません。")
    key = load_pem_private_key(key_path.read_bytes(), password=None)
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return jpki.sign_package(data_xml, attachments, key=key, certificate=certificate)


def submit_as_resident(
    store: Store,
    *,
    lg_code: str,
    procedure_code: str,
    card: str,
    items: dict[str, str],
    files: list[tuple[str, str, str, bytes]],
) -> str:
    """files: [(name, item, content_type, content)]. Returns the new 受付番号."""
    receipt = store.next_receipt_number()
    received_at = datetime.datetime.now(JST).replace(microsecond=0)
    data_xml = pkg.build_data_xml(
        receipt_number=receipt,
        lg_code=lg_code,
        procedure_code=procedure_code,
        submitted_at=received_at,
        items=items,
        attachments=pkg.attachment_infos(files),
    )
    attachments = {name: content for name, _item, _ct, content in files}
    signed = sign_as_resident(store, card=card, data_xml=data_xml, attachments=attachments)
    store.add_application(
        receipt, lg_code, procedure_code, received_at, pkg.build_zip(signed, attachments)
    )
    return receipt


class Handler(BaseHTTPRequestHandler):
    store: Store
    login_id: str
    password: str
    status_delay: float = 0.0
    server_version = "mynaportal-simulator/1"

    def log_message(self, format, *args):  # quiet by default
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    # --- plumbing ---
    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(
            status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8"
        )

    def _html(self, status: int, title: str, body: str) -> None:
        page = (
            f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title>'
            f"</head><body><h1>{title}</h1>{body}</body></html>"
        )
        self._send(status, page.encode(), "text/html; charset=utf-8")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict:
        try:
            data = json.loads(self._body() or b"{}")
        except ValueError as exc:
            raise SimulatorError(400, "JSONとして読めません。") from exc
        if not isinstance(data, dict):
            raise SimulatorError(400, "JSONオブジェクトを送ってください。")
        return data

    def _authorised(self) -> None:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token or not self.store.query("select 1 from tokens where token = ?", (token,)):
            raise SimulatorError(401, "アクセストークンが無効です。")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            self._dispatch(method, parts, query)
        except SimulatorError as exc:
            self._json(exc.status, {"error": exc.message})
        except Exception as exc:  # the simulator answers 500 like a real server would
            self._json(500, {"error": f"{type(exc).__name__}: {exc}"})

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    # --- routes ---
    def _dispatch(self, method, parts, query):
        if parts == ["health"]:
            return self._json(200, {"ok": True})
        if parts == ["api", "v1", "auth", "token"] and method == "POST":
            return self._login()
        if parts == ["statuses"] and method == "GET":
            return self._status_page()
        if parts == ["resident", "apply"]:
            return self._resident_form() if method == "GET" else self._resident_post()
        if parts[:2] != ["api", "v1"]:
            raise SimulatorError(404, "ありません。")
        rest = parts[2:]
        if rest == ["resident", "applications"] and method == "POST":
            return self._resident_json()
        if rest == ["resident", "raw"] and method == "POST":
            return self._resident_raw()
        if rest == ["statuses"] and method == "GET":
            return self._json(200, {"statuses": self._statuses()})
        self._authorised()
        if rest == ["applications"] and method == "GET":
            return self._list(query)
        if len(rest) == 2 and rest[0] == "applications" and method == "GET":
            return self._get(rest[1])
        if len(rest) == 3 and rest[0] == "applications" and rest[2] == "statuses":
            if method == "GET":
                return self._json(200, {"statuses": self._statuses(rest[1])})
            return self._register_status(rest[1])
        raise SimulatorError(404, "ありません。")

    def _login(self):
        data = self._json_body()
        if data.get("login_id") != self.login_id or data.get("password") != self.password:
            raise SimulatorError(401, "ログインIDまたはパスワードが正しくありません。")
        token = secrets.token_urlsafe(24)
        self.store.execute(
            "insert into tokens values (?, ?)", (token, datetime.datetime.now(JST).isoformat())
        )
        return self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _list(self, query):
        sql = "select receipt_number, lg_code, procedure_code, received_at from applications"
        where, params = [], []
        for key, column, op in (
            ("lg_code", "lg_code", "="),
            ("procedure_code", "procedure_code", "="),
            ("from", "received_at", ">="),
            ("to", "received_at", "<="),
        ):
            if query.get(key):
                if column == "received_at":  # a package without a time is always listed
                    where.append(f"(received_at is null or {column} {op} ?)")
                else:
                    where.append(f"{column} {op} ?")
                params.append(query[key])
        if where:
            sql += " where " + " and ".join(where)
        rows = self.store.query(sql + " order by received_at, receipt_number", params)
        return self._json(200, {"count": len(rows), "applications": rows})

    def _get(self, receipt):
        rows = self.store.query("select * from applications where receipt_number = ?", (receipt,))
        if not rows:
            raise SimulatorError(404, "その受付番号の申請データはありません。")
        row = rows[0]
        row["package"] = base64.b64encode(row["package"]).decode()
        return self._json(200, row)

    def _statuses(self, receipt=None):
        if receipt is None:
            return self.store.query("select * from statuses order by id")
        return self.store.query(
            "select * from statuses where receipt_number = ? order by id", (receipt,)
        )

    def _register_status(self, receipt):
        if not self.store.query("select 1 from applications where receipt_number = ?", (receipt,)):
            raise SimulatorError(404, "その受付番号の申請データはありません。")
        data = self._json_body()
        code = str(data.get("status_code") or "")
        if not code:
            raise SimulatorError(400, "status_code は必須です。")
        new_id = self.store.execute(
            "insert into statuses(receipt_number, status_code, status_label, comment, "
            "registered_at) values (?, ?, ?, ?, ?)",
            (
                receipt,
                code,
                str(data.get("status_label") or ""),
                str(data.get("comment") or "")[:2000],
                datetime.datetime.now(JST).isoformat(),
            ),
        )
        if self.status_delay:
            # Tests: the status is recorded but the answer is late, so a client killed
            # meanwhile never learns it was accepted (an at-least-once sender re-sends).
            time.sleep(self.status_delay)
        return self._json(201, {"id": new_id, "receipt_number": receipt})

    def _resident_json(self):
        data = self._json_body()
        files = [
            (
                a["name"],
                a.get("item", ""),
                a.get("content_type", "application/octet-stream"),
                base64.b64decode(a["data"]),
            )
            for a in data.get("attachments", [])
        ]
        receipt = submit_as_resident(
            self.store,
            lg_code=str(data.get("lg_code", "")),
            procedure_code=str(data.get("procedure_code", "")),
            card=str(data.get("card", "")),
            items={str(k): str(v) for k, v in (data.get("items") or {}).items()},
            files=files,
        )
        return self._json(201, {"receipt_number": receipt})

    def _resident_raw(self):
        data = self._json_body()
        receipt = str(data.get("receipt_number") or self.store.next_receipt_number())
        received = datetime.datetime.now(JST).replace(microsecond=0)
        if "received_at" in data:  # tests: a package received earlier, or without a time
            try:
                received = (
                    datetime.datetime.fromisoformat(data["received_at"])
                    if data["received_at"]
                    else None
                )
            except (TypeError, ValueError) as exc:
                raise SimulatorError(400, "received_at はISO 8601の日時です。") from exc
        self.store.add_application(
            receipt,
            str(data.get("lg_code", "")),
            str(data.get("procedure_code", "")),
            received,
            base64.b64decode(data.get("package", "")),
        )
        return self._json(201, {"receipt_number": receipt})

    def _resident_form(self, message: str = ""):
        cards = sorted(
            p.name.removesuffix(".cert.pem") for p in self.store.data_dir.glob("cards/*.cert.pem")
        )
        options = "".join(f"<option>{html.escape(c)}</option>" for c in cards)
        body = (
            f"{message}"
            '<form method="post" action="/resident/apply" enctype="multipart/form-data">'
            '<p><label for="lg_code">地方公共団体コード</label>'
            '<input id="lg_code" name="lg_code"></p>'
            '<p><label for="procedure_code">手続コード</label>'
            '<input id="procedure_code" name="procedure_code"></p>'
            '<p><label for="items">申請項目（1行に「項目ID=値」）</label>'
            '<textarea id="items" name="items" rows="10" cols="60"></textarea></p>'
            '<p><label for="attachment">添付書類</label>'
            '<input id="attachment" type="file" name="attachment"> '
            '<label for="attachment_item">添付書類の項目ID</label>'
            '<input id="attachment_item" name="attachment_item"></p>'
            f'<p><label for="card">マイナンバーカード（テスト用）</label>'
            f'<select id="card" name="card">{options}</select></p>'
            '<p><button type="submit">電子署名して申請する</button></p></form>'
        )
        return self._html(200, "マイナポータル（シミュレーター）申請", body)

    def _resident_post(self):
        content_type = self.headers.get("Content-Type", "")
        raw = self._body()
        message = BytesParser(policy=HTTP_POLICY).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        fields, files = {}, []
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename:
                if payload:
                    files.append((filename, part.get_content_type(), payload))
            elif name:
                fields[name] = payload.decode("utf-8")
        items = {}
        for line in fields.get("items", "").splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                items[key.strip()] = value.strip()
        item = fields.get("attachment_item", "").strip()
        receipt = submit_as_resident(
            self.store,
            lg_code=fields.get("lg_code", "").strip(),
            procedure_code=fields.get("procedure_code", "").strip(),
            card=fields.get("card", ""),
            items=items,
            files=[(n, item, ct, c) for n, ct, c in files],
        )
        return self._html(
            201,
            "申請を受け付けました",
            f'<p>受付番号: <strong id="receipt-number">{html.escape(receipt)}</strong></p>'
            '<p><a href="/statuses">申請処理状況</a></p>',
        )

    def _status_page(self):
        rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(s[k]))}</td>"
                for k in (
                    "receipt_number",
                    "status_code",
                    "status_label",
                    "comment",
                    "registered_at",
                )
            )
            + "</tr>"
            for s in self._statuses()
        )
        body = (
            '<table id="statuses"><thead><tr><th>受付番号</th><th>状況コード</th><th>状況</th>'
            f"<th>自治体コメント</th><th>登録日時</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        return self._html(200, "申請処理状況", body)


def make_server(
    host: str,
    port: int,
    data_dir,
    *,
    login_id="madoguchi",
    password="simulator",
    status_delay: float = 0.0,
) -> ThreadingHTTPServer:
    store = Store(Path(data_dir))
    handler = type(
        "BoundHandler",
        (Handler,),
        {
            "store": store,
            "login_id": login_id,
            "password": password,
            "status_delay": status_delay,
        },
    )
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server
