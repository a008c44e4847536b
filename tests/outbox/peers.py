"""Peers on loopback for the stalled-peer tests: a mail server and an HTTP receiver that can
be tarpits (accept the connection, then never answer) for their first connections and answer
normally afterwards. Each is started and stopped by the test."""

from __future__ import annotations

import socket
import threading


class _Server:
    """Accept connections on 127.0.0.1; the first `stall` of them are held open unanswered
    (until `stop()`), the others are handled by `serve(conn)`."""

    def __init__(self, *, stall: int = 0):
        self.stall = stall
        self.accepted = 0
        self.stalled = threading.Event()  # set once a connection is being held
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._stopping = False
        self._threads: list[threading.Thread] = []

    def start(self):
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, _addr = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                hold = self.accepted <= self.stall
                if hold:
                    self._held.append(conn)
            if hold:
                self.stalled.set()
                continue
            thread = threading.Thread(target=self._serve_safely, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_safely(self, conn):
        try:
            conn.settimeout(10)
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def serve(self, conn):  # pragma: no cover - overridden
        raise NotImplementedError

    def release(self):
        """End the stall: close the connections held so far (their callers see the peer
        hang up). Later connections are answered."""
        with self._lock:
            self.stall = 0
            held, self._held = self._held, []
        for conn in held:
            conn.close()

    def stop(self):
        self._stopping = True
        self._sock.close()
        self.release()
        for thread in self._threads:
            thread.join(10)


class SmtpPeer(_Server):
    """A minimal SMTP server (no TLS, no authentication) keeping every message it got."""

    def __init__(self, *, stall: int = 0):
        super().__init__(stall=stall)
        self.messages: list[bytes] = []

    def serve(self, conn):
        reader = conn.makefile("rb")

        def say(line: str):
            conn.sendall(line.encode() + b"\r\n")

        say("220 peer.test ESMTP")
        while True:
            line = reader.readline()
            if not line:
                return
            command = line.decode("ascii", "replace").strip().upper()
            if command.startswith(("EHLO", "HELO")):
                say("250 peer.test")
            elif command.startswith(("MAIL FROM", "RCPT TO", "RSET", "NOOP")):
                say("250 OK")
            elif command == "DATA":
                say("354 go ahead")
                data = []
                while True:
                    chunk = reader.readline()
                    if not chunk or chunk in (b".\r\n", b".\n"):
                        break
                    data.append(chunk)
                with self._lock:
                    self.messages.append(b"".join(data))
                say("250 queued")
            elif command == "QUIT":
                say("221 bye")
                return
            else:
                say("502 not implemented")

    def message_ids(self) -> list[str]:
        import email

        return [email.message_from_bytes(raw)["Message-ID"] for raw in self.messages]


class HttpPeer(_Server):
    """An HTTP receiver answering 200 to every request, counting the requests it got."""

    def __init__(self, *, stall: int = 0):
        super().__init__(stall=stall)
        self.requests: list[bytes] = []

    def serve(self, conn):
        reader = conn.makefile("rb")
        head = []
        while True:
            line = reader.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            head.append(line)
        length = 0
        for line in head:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = reader.read(length) if length else b""
        with self._lock:
            self.requests.append(body)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def wait_until(condition, seconds: float = 30, what: str = "the condition") -> None:
    """Poll `condition` until it holds (a background delivery finished), failing after
    `seconds`: waits for an outcome, never for a fixed time."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
