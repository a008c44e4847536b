"""tools/sample_consumer.py against a live server: pull, acknowledge, post a status."""

import subprocess
import sys
from pathlib import Path

import pytest

from madoguchi.api.models import Acknowledgement
from madoguchi.applications.models import Application, ApplicationEvent

from .conftest import make_client, submit_application

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "sample_consumer.py"


@pytest.mark.django_db(transaction=True)
def test_sample_consumer_pulls_acknowledges_and_sets_status(live_server, municipality, settings):
    from .conftest import make_procedure

    settings.ALLOWED_HOSTS = ["*"]
    procedure = make_procedure(municipality)
    applications = [submit_application(procedure) for _ in range(3)]
    client = make_client(municipality)

    def run():
        return subprocess.run(
            [
                sys.executable,
                str(SCRIPT),
                "--base-url",
                live_server.url,
                "--client-id",
                client.client_id,
                "--client-secret",
                client.secret,
                "--set-status",
                "in_progress",
                "--message",
                "審査を開始しました。",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )

    result = run()
    assert result.returncode == 0, result.stderr
    assert "3 件を取り込みました。" in result.stdout
    assert Acknowledgement.objects.filter(client=client).count() == 3
    for application in applications:
        application = Application.objects.get(pk=application.pk)
        assert application.status == "in_progress"
        assert application.events.filter(
            kind=ApplicationEvent.Kind.STATUS_CHANGED, actor_client=client
        ).exists()
    again = run()
    assert "0 件を取り込みました。" in again.stdout
