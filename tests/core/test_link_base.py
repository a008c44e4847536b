"""Links sent by e-mail use PUBLIC_BASE_URL: `make run` prints it, and the first request the
site serves logs a warning, once, when the links would point at another host."""

import io
import logging
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from madoguchi.core import link_base

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "base, serving, differs",
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", False),
        ("https://madoguchi.example.lg.jp", "madoguchi.example.lg.jp", False),
        ("https://madoguchi.example.lg.jp", "MADOGUCHI.example.lg.jp:443", False),
        # A proxy that ends TLS: the app sees the same host on another port.
        ("https://madoguchi.example.lg.jp", "madoguchi.example.lg.jp:80", False),
        ("http://127.0.0.1:8000", "localhost:8000", True),
        ("http://127.0.0.1:8000", "127.0.0.1:8001", True),
        ("http://127.0.0.1:8000", "madoguchi.example.lg.jp", True),
        ("https://madoguchi.example.lg.jp", "staging.example.lg.jp", True),
    ],
)
def test_mismatch(settings, base, serving, differs):
    settings.PUBLIC_BASE_URL = base
    message = link_base.mismatch(serving)
    assert (message is not None) is differs
    if differs:
        assert message.startswith(
            f"メールのリンクは {base}/ を指しますが、このサーバーは {serving} で開かれています。"
            "PUBLIC_BASE_URL を、住民・職員が開くアドレスにしてください。"
        )


def warnings_of(caplog):
    return [r for r in caplog.records if r.name == "madoguchi.links"]


@pytest.mark.django_db
def test_first_request_at_another_host_logs_one_warning(client, settings, caplog):
    settings.PUBLIC_BASE_URL = "https://madoguchi.example.lg.jp"
    link_base.reset()
    with caplog.at_level(logging.WARNING, logger="madoguchi.links"):
        client.get("/")
        client.get("/")
        client.get("/staff/")
    records = warnings_of(caplog)
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert (
        records[0]
        .getMessage()
        .startswith(
            "メールのリンクは https://madoguchi.example.lg.jp/ を指しますが、"
            "このサーバーは testserver で開かれています。"
        )
    )


@pytest.mark.django_db
def test_no_warning_when_links_use_the_serving_host(client, settings, caplog):
    settings.PUBLIC_BASE_URL = "http://testserver"
    link_base.reset()
    with caplog.at_level(logging.WARNING, logger="madoguchi.links"):
        client.get("/")
    assert warnings_of(caplog) == []


@pytest.mark.django_db
def test_a_refused_host_does_not_use_up_the_check(client, settings, caplog):
    settings.PUBLIC_BASE_URL = "https://madoguchi.example.lg.jp"
    link_base.reset()
    with caplog.at_level(logging.WARNING, logger="madoguchi.links"):
        client.get("/", HTTP_HOST="evil.example.com")
        assert warnings_of(caplog) == []
        client.get("/")
    assert len(warnings_of(caplog)) == 1


def test_link_base_command_prints_the_address_and_warns_on_another_host(settings):
    settings.PUBLIC_BASE_URL = "https://madoguchi.example.lg.jp/"
    out, err = io.StringIO(), io.StringIO()
    call_command("link_base", "--serving", "127.0.0.1:8000", stdout=out, stderr=err)
    assert out.getvalue() == (
        "メールのリンクのアドレス: https://madoguchi.example.lg.jp/ （PUBLIC_BASE_URL で変更できます）\n"
    )
    assert "このサーバーは 127.0.0.1:8000 で開かれています" in err.getvalue()
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    out, err = io.StringIO(), io.StringIO()
    call_command("link_base", "--serving", "127.0.0.1:8000", stdout=out, stderr=err)
    assert "http://127.0.0.1:8000/" in out.getvalue() and err.getvalue() == ""


def test_make_run_prints_the_link_address_for_the_address_it_serves():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = re.search(r"^run:.*?\n((?:\t.*\n)+)", makefile, re.M).group(1)
    lines = [line.strip().lstrip("@") for line in run.splitlines()]
    serve = next(i for i, line in enumerate(lines) if " runserver " in line)
    prints = next(i for i, line in enumerate(lines) if " link_base " in line)
    assert prints < serve
    address = lines[serve].rsplit(" ", 1)[1]
    assert lines[prints].endswith(f"link_base --serving {address}")
