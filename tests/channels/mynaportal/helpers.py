"""Helpers for the マイナポータル tests: packages signed with test cards, the simulator
process."""

import datetime
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from madoguchi.channels.mynaportal import package as pkg

JST = datetime.timezone(datetime.timedelta(hours=9))
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
ITEMS = {
    "submission_reason": "dv",
    "recipient_name.family": "山田",
    "recipient_name.given": "花子",
    "recipient_birth_date": "1985-04-01",
    "recipient_address": "東京都千代田区千代田1-1",
    "unknown_item": "残す値",
}


def make_package(
    card,
    *,
    receipt="2026040100000001",
    lg_code="131016",
    procedure_code="jidou_teate_genkyo",
    items=None,
    files=(("kenko.pdf", "health_insurance", "application/pdf", PDF),),
    signing_time=None,
    tamper=None,
) -> bytes:
    files = list(files)
    data_xml = pkg.build_data_xml(
        receipt_number=receipt,
        lg_code=lg_code,
        procedure_code=procedure_code,
        submitted_at=datetime.datetime.now(JST).replace(microsecond=0),
        items=ITEMS if items is None else items,
        attachments=pkg.attachment_infos(files),
    )
    attachments = {name: content for name, _item, _ct, content in files}
    signed = card.sign(data_xml, attachments, signing_time=signing_time)
    if tamper == "data":
        signed = signed.replace("山田".encode(), "田中".encode())
    if tamper == "attachment":
        attachments = {name: content + b"x" for name, content in attachments.items()}
    return pkg.build_zip(signed, attachments)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulator:
    """`madoguchi mynaportal-simulator` as its own process."""

    def __init__(self, data_dir: Path, port: int | None = None, *, status_delay: float = 0.0):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.status_delay = status_delay
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Simulator":
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "madoguchi.settings"}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "madoguchi",
                "mynaportal-simulator",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--status-delay",
                str(self.status_delay),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Generous: a Django process starting on a loaded 2-core machine can take long.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=1).read()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.process.stderr.read().decode()) from None
                time.sleep(0.1)
        raise RuntimeError("simulator did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def get_json(self, path: str):
        import json

        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.loads(response.read())

    def post_json(self, path: str, data: dict):
        import json

        request = urllib.request.Request(
            f"{self.url}{path}",
            data=json.dumps(data, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
