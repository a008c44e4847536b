"""The load test's peer: a minimal SMTP server that records every message it is sent (one
JSON line each: Message-ID, recipients, subject, body) and an HTTP endpoint the simulated
residents read their e-mail address check link from (`GET /mail?to=ADDRESS`).

    python bench/load/sink.py SMTP_PORT HTTP_PORT RECORD_FILE

Written by hand (about 80 lines) because the standard library's smtpd is deprecated and the
sink needs nothing but the plain SMTP dialogue on loopback.
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
BY_RECIPIENT: dict[str, list[str]] = {}


class SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        self.reply("220 loadtest-sink ESMTP")
        recipients: list[str] = []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb in {"HELO", "EHLO"}:
                self.reply("250 loadtest-sink")
            elif verb == "MAIL":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.record(bytes(data), recipients)
                self.reply("250 OK queued")
            elif verb == "RSET":
                recipients = []
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("250 OK")

    def record(self, data: bytes, recipients: list[str]) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        body = message.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        entry = {
            "message_id": str(message.get("Message-ID", "")),
            "to": recipients,
            "subject": str(message.get("Subject", "")),
            "body": text,
        }
        with LOCK:
            with open(self.server.record_file, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            for address in recipients:
                BY_RECIPIENT.setdefault(address.lower(), []).append(text)


class HTTPHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        if url.path != "/mail":
            self.send_error(404)
            return
        address = parse_qs(url.query).get("to", [""])[0].lower()
        with LOCK:
            bodies = list(BY_RECIPIENT.get(address, []))
        payload = json.dumps(bodies, ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main() -> None:
    smtp_port, http_port, record_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    smtp = SMTPServer(("127.0.0.1", smtp_port), SMTPHandler)
    smtp.record_file = record_file
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    http = ThreadingHTTPServer(("127.0.0.1", http_port), HTTPHandler)
    http.daemon_threads = True
    http.serve_forever()


if __name__ == "__main__":
    main()
