"""Structured logs: one JSON object per line in production (`LOG_FORMAT=json`), the same
fields as plain text in the embedded default, each carrying the request id.

What a log line may hold: ids, counts, durations, route patterns, types of errors. What it
never holds: names, addresses, 個人番号, answers, e-mail addresses — and, because they can
quote any of those, neither query strings nor exception messages (a database error quotes
the row it refused). An exception is logged as its type and frames.
"""

from __future__ import annotations

import logging
import re
import traceback

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from . import context

# `GET /staff/?q=鳩山 HTTP/1.1` -> `GET /staff/?… HTTP/1.1`
_QUERY = re.compile(r"\?[^\s\"]*")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` (the current one, or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = context.current() or "-"
        return True


class RedactQueryFilter(logging.Filter):
    """Removes query strings from server request lines (runserver's `django.server` and
    gunicorn's access log): a search or a resume link puts a resident's data there."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let logging report it as it would
            return True
        if "?" in message:
            record.msg = _QUERY.sub("?…", message)
            record.args = ()
        return True


def exception_summary(exc_info) -> str:
    """The exception's type and frames, without its message (which may quote data)."""
    exc_type, exc, tb = exc_info
    if exc_type is None:
        return ""
    frames = "".join(traceback.format_tb(tb))
    chain = []
    cause = exc.__cause__ or exc.__context__ if exc is not None else None
    while cause is not None and len(chain) < 5:
        chain.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    caused = f" (after {' <- '.join(chain)})" if chain else ""
    return f"Traceback (most recent call last):\n{frames}{exc_type.__name__}{caused}"


class PlainFormatter(logging.Formatter):
    default_format = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

    def __init__(self, fmt: str | None = None, *args, **kwargs):
        super().__init__(fmt or self.default_format, *args, **kwargs)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return exception_summary(ei)

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = context.current() or "-"
        return super().format(record)


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, process and any
    `extra={...}` fields (route, status, duration_ms, task, ...)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d"
        )
        kwargs.setdefault(
            "rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"}
        )
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(*args, **kwargs)

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return exception_summary(ei)

    def add_fields(self, log_data, record, message_dict) -> None:
        if not hasattr(record, "request_id"):
            record.request_id = context.current() or "-"
        super().add_fields(log_data, record, message_dict)


def logging_config(*, fmt: str, level: str) -> dict:
    """The LOGGING dict of the settings: console only (the platform collects stdout)."""
    formatter = "json" if fmt == "json" else "plain"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "madoguchi.ops.logs.RequestIdFilter"},
            "redact_query": {"()": "madoguchi.ops.logs.RedactQueryFilter"},
        },
        "formatters": {
            "plain": {"()": "madoguchi.ops.logs.PlainFormatter"},
            "json": {"()": "madoguchi.ops.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_id"],
            },
            "server": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["request_id", "redact_query"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
            # Request lines of runserver and gunicorn, without their query strings.
            "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["server"], "level": "INFO", "propagate": False},
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # Celery's own task lines quote arguments and results ("succeeded in 0.1s: ...");
            # ours are ids and counts, but a WARNING floor keeps them out all the same.
            "celery.app.trace": {"level": "WARNING"},
        },
    }
