"""「今すぐ取得する」 starts a pull in the background (never inside the request) and the page
shows its progress and result; one run at a time per connection; a run left behind by a
stopped process does not block the button."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalConnection, PullRun
from madoguchi.channels.mynaportal import pull as pulling
from tests.conftest import login_with_2fa, make_staff

from .test_simulator import connection, submit  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def handler(loaded_municipality, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return login_with_2fa(Client(), make_staff("kodomo1", loaded_municipality, "kodomo"))


def test_the_button_starts_a_background_pull_and_the_page_shows_its_result(
    handler,
    mapping,
    connection,  # noqa: F811
    simulator,
    card,
    db_trust,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.MADOGUCHI_JOBS_INLINE = True  # the background task runs at commit, here
    submit(simulator, card)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = handler.post("/staff/mynaportal/pull/", follow=True)
    page = response.content.decode()
    # Nothing was imported inside the request: the run is only queued.
    assert "千代田区: 取得を開始しました。" in page
    run = PullRun.objects.get()
    assert run.state == PullRun.State.QUEUED and run.requested_by.username == "kodomo1"
    assert not Application.objects.filter(channel=Channel.MYNAPORTAL).exists()
    assert '<meta http-equiv="refresh" content="2">' in page

    for callback in callbacks:  # the worker (or the embedded default's thread) runs it
        callback()
    run.refresh_from_db()
    assert (run.state, run.total, run.done, run.imported) == ("done", 1, 1, 1)
    assert run.percent == 100
    page = handler.get("/staff/mynaportal/").content.decode()
    assert "取り込み 1件、重複 0件、隔離 0件、失敗 0件" in page
    assert '<meta http-equiv="refresh"' not in page
    assert Application.objects.filter(channel=Channel.MYNAPORTAL).count() == 1


def test_one_run_at_a_time_and_a_stale_run_does_not_block(
    handler,
    connection,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):
        first, started = pulling.start_pull(connection, user=None)
    assert started
    with django_capture_on_commit_callbacks(execute=False):
        again, started = pulling.start_pull(connection, user=None)
    assert (again.pk, started) == (first.pk, False)
    page = handler.post("/staff/mynaportal/pull/", follow=True).content.decode()
    assert "千代田区: 取得中です。終わるまでお待ちください。" in page

    # The process running it stopped: after a while the run is closed and a new one starts.
    PullRun.objects.filter(pk=first.pk).update(
        state=PullRun.State.RUNNING, created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=False):
        fresh, started = pulling.start_pull(connection, user=None)
    assert started and fresh.pk != first.pk
    first.refresh_from_db()
    assert first.state == PullRun.State.FAILED
    assert first.summary == "中断されました（サーバーの再起動など）。もう一度取得してください。"


def test_a_pull_that_cannot_reach_the_service_is_a_failed_run(
    connection,  # noqa: F811
    simulator,
    django_capture_on_commit_callbacks,
):
    simulator.stop()
    with django_capture_on_commit_callbacks(execute=False):
        run, _started = pulling.start_pull(connection, user=None)
    pulling.run_pull(run.pk)
    run.refresh_from_db()
    assert run.state == PullRun.State.FAILED
    assert "接続できません" in run.summary
    # A redelivered task leaves a finished run as it is.
    assert pulling.run_pull(run.pk) == run.summary


def test_the_staff_page_lists_only_the_runs_of_the_users_municipalities(
    handler,
    connection,  # noqa: F811
    other_municipality,
):
    other = MynaportalConnection.objects.create(
        municipality=other_municipality, base_url="http://127.0.0.1:9", login_id="x"
    )
    PullRun.objects.create(
        municipality=other_municipality, connection=other, summary="他団体の取得結果"
    )
    PullRun.objects.create(
        municipality=connection.municipality,
        connection=connection,
        state=PullRun.State.DONE,
        summary="自団体の取得結果",
    )
    page = handler.get("/staff/mynaportal/").content.decode()
    assert "自団体の取得結果" in page and "他団体の取得結果" not in page
