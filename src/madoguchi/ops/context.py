"""The request id of the work in progress, carried from the web request that started it
into the Celery tasks it queued and the outbox messages it wrote, so one log search finds
everything that followed from one click.

A `ContextVar` (not a thread-local) so it follows the embedded default's background threads
only when handed over explicitly, and never leaks from one request to the next.
"""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

_request_id: ContextVar[str] = ContextVar("madoguchi_request_id", default="")

# What we accept from a load balancer's X-Request-ID: short and plain, so it can be logged
# as it is (no control characters, no way to forge a second log field).
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept(candidate: str | None) -> str:
    """`candidate` when it is a well-formed id, else a fresh one."""
    if candidate and _VALID.match(candidate):
        return candidate
    return new_request_id()


def current() -> str:
    """The request id of the work in progress ("" outside any request or task)."""
    return _request_id.get()


@contextmanager
def bound(request_id: str | None):
    """Run a block with `request_id` as the current one (restored afterwards)."""
    token = _request_id.set(request_id or "")
    try:
        yield
    finally:
        _request_id.reset(token)


def set_current(request_id: str | None):
    """Set the current request id; returns a token for `reset`."""
    return _request_id.set(request_id or "")


def reset(token) -> None:
    _request_id.reset(token)
