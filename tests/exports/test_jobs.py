"""madoguchi.core.jobs.dispatch: after commit; Celery when configured, else a thread."""

import threading

import pytest

from madoguchi.core import jobs

pytestmark = pytest.mark.django_db


class FakeTask:
    name = "fake"

    def __init__(self):
        self.calls = []
        self.delayed = []
        self.threads = []
        self.ran = threading.Event()

    def __call__(self, *args):
        self.calls.append(args)
        self.threads.append(threading.current_thread().name)
        self.ran.set()

    def delay(self, *args):
        self.delayed.append(args)


def test_inline_runs_after_commit_only(settings, django_capture_on_commit_callbacks):
    settings.MADOGUCHI_JOBS_INLINE = True
    task = FakeTask()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jobs.dispatch(task, 7)
    assert task.calls == []  # nothing before the commit
    callbacks[0]()
    assert task.calls == [(7,)]


def test_embedded_default_runs_in_a_background_thread(settings, django_capture_on_commit_callbacks):
    settings.MADOGUCHI_JOBS_INLINE = False
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert jobs.mode() == jobs.THREAD
    task = FakeTask()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.dispatch(task, 1, 2)
    assert task.ran.wait(5)
    assert task.calls == [(1, 2)]
    assert task.threads[0].startswith("madoguchi-job-")
    assert task.threads[0] != threading.current_thread().name
    assert task.delayed == []


def test_with_redis_the_task_goes_to_celery(settings, django_capture_on_commit_callbacks):
    settings.MADOGUCHI_JOBS_INLINE = False
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert jobs.mode() == jobs.CELERY
    task = FakeTask()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.dispatch(task, 3)
    assert task.delayed == [(3,)]
    assert task.calls == []


def test_a_failing_thread_job_is_logged_by_name_only(caplog):
    def broken(secret):
        raise RuntimeError(secret)

    thread = jobs.start_thread(broken, ("山田花子",))
    thread.join(5)
    assert "background job broken failed: RuntimeError" in caplog.text
    assert "山田花子" not in caplog.text
