"""Structured logs: JSON lines with the request id, carried into Celery tasks and outbox
deliveries; exceptions as type and frames (never the message); no query strings."""

import io
import json
import logging

import pytest

from madoguchi.ops import celery_signals, context
from madoguchi.ops.logs import JsonFormatter, PlainFormatter, RedactQueryFilter, RequestIdFilter


def _handler(formatter):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestIdFilter())
    return handler, stream


def _log_through(handler, emit):
    logger = logging.getLogger("madoguchi.test.ops")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_json_lines_carry_the_request_id_and_extra_fields():
    handler, stream = _handler(JsonFormatter())
    with context.bound("req-0123456789"):
        _log_through(handler, lambda log: log.info("done %s", 3, extra={"duration_ms": 1.5}))
    line = json.loads(stream.getvalue())
    assert line["message"] == "done 3"
    assert line["level"] == "INFO"
    assert line["logger"] == "madoguchi.test.ops"
    assert line["request_id"] == "req-0123456789"
    assert line["duration_ms"] == 1.5
    assert "time" in line and "process" in line


def test_exceptions_are_logged_as_type_and_frames_without_the_message():
    handler, stream = _handler(JsonFormatter())

    def emit(log):
        name = "".join(["鳩", "山由紀恵"])  # data, not source text (frames show the source)
        try:
            raise ValueError(f"申請者 {name} の住所が不正")
        except ValueError:
            log.exception("failed")

    _log_through(handler, emit)
    text = stream.getvalue()
    line = json.loads(text)
    assert "鳩山" not in text
    assert "ValueError" in line["exc_info"]
    assert "test_logs.py" in line["exc_info"]  # the frames are kept
    plain, plain_stream = _handler(PlainFormatter())
    _log_through(plain, emit)
    assert "鳩山" not in plain_stream.getvalue() and "ValueError" in plain_stream.getvalue()


def test_request_lines_lose_their_query_string():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /staff/?q=%E9%B3%A9%E5%B1%B1&status=received HTTP/1.1", 200, 512),
        None,
    )
    RedactQueryFilter().filter(record)
    assert record.getMessage() == '"GET /staff/?… HTTP/1.1" 200 512'


def test_the_request_id_goes_into_the_messages_of_a_published_task():
    headers = {}
    with context.bound("req-abcdef012345"):
        celery_signals._before_publish(headers=headers)
    assert headers[celery_signals.HEADER] == "req-abcdef012345"
    # Nothing bound: no header (the worker then makes one of its own).
    empty = {}
    celery_signals._before_publish(headers=empty)
    assert empty == {}


def test_a_task_runs_under_the_request_id_it_was_published_with():
    from madoguchi.outbox.tasks import deliver_due as task

    seen = []
    task.push_request(id="t-1", **{celery_signals.HEADER: "req-abcdef012345"})
    try:
        celery_signals._prerun(task_id="t-1", task=task)
        seen.append(context.current())
        celery_signals._postrun(task_id="t-1", task=task)
    finally:
        task.pop_request()
    assert seen == ["req-abcdef012345"]
    assert context.current() == ""
    # A task started by beat has no request id: it gets one of its own.
    task.push_request(id="t-2")
    try:
        celery_signals._prerun(task_id="t-2", task=task)
        assert context.current() == "task-t-2"
        celery_signals._postrun(task_id="t-2", task=task)
    finally:
        task.pop_request()


@pytest.mark.django_db
def test_an_outbox_message_is_delivered_under_the_request_id_that_wrote_it(caplog, settings):
    from django.core import mail

    from madoguchi.outbox import delivery
    from madoguchi.outbox.models import OutboxMessage

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with context.bound("req-writer-000001"):
        message = delivery.enqueue_email(to=["a@example.jp"], subject="件名", body="本文")
    assert OutboxMessage.objects.get(pk=message.pk).request_id == "req-writer-000001"

    seen = []

    def sender(msg):
        seen.append(context.current())
        logging.getLogger("madoguchi.outbox").info("sending %s", msg.pk)

    delivery.register(OutboxMessage.Kind.EMAIL, sender)
    try:
        with context.bound("req-other-0000001"):
            assert delivery.deliver(message.pk) is True
    finally:
        delivery.register(OutboxMessage.Kind.EMAIL, delivery._send_email)
    assert seen == ["req-writer-000001"]
    assert mail.outbox == []


@pytest.mark.django_db
def test_access_log_names_the_view_not_the_path(client, caplog):
    caplog.set_level(logging.INFO, logger="madoguchi.access")
    client.get("/131016/status/" + "S" * 30 + "/?q=鳩山")
    records = [r for r in caplog.records if r.name == "madoguchi.access"]
    assert records
    record = records[-1]
    text = record.getMessage()
    assert "S" * 30 not in text and "鳩山" not in text
    assert record.view == "portal:status"
    assert record.route == "<lg:lg_code>/status/<token:token>/"
    assert record.status == 404
    assert len(record.request_id) == 32
