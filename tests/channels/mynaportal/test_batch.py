"""The bulk intake used by `pull`: a batch checked in worker processes and written in one
transaction; each package still all-or-nothing, bad ones quarantined with their reason."""

import hashlib
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from madoguchi.applications import lifecycle
from madoguchi.applications.models import (
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
)
from madoguchi.channels.models import QuarantinedPackage
from madoguchi.channels.mynaportal import checking, intake, status_sync
from madoguchi.outbox.models import OutboxMessage

from .helpers import PDF, make_package
from .test_intake import media_files

TAMPERED = "署名が正しくありません。申請データが改ざんされているか、署名が壊れています。"
UNKNOWN_PROCEDURE = (
    "手続コード「no_such_procedure」に対応する手続が設定されていません。"
    "マイナポータル項目対応を登録してから再処理してください。"
)


@pytest.fixture
def worker_processes(monkeypatch):
    monkeypatch.setenv("MYNAPORTAL_VERIFY_PROCESSES", "2")
    yield
    checking.shutdown()


def _receipt(i: int) -> str:
    return f"20260401{i:08d}"


@pytest.mark.django_db
def test_a_batch_imports_the_good_and_quarantines_the_bad_without_affecting_them(
    loaded_municipality, mapping, card, trust, worker_processes
):
    good = [(_receipt(i), make_package(card, receipt=_receipt(i))) for i in range(1, 9)]
    tampered = (_receipt(20), make_package(card, receipt=_receipt(20), tamper="data"))
    unknown = (
        _receipt(21),
        make_package(card, receipt=_receipt(21), procedure_code="no_such_procedure"),
    )
    twice = good[0]  # the same 受付番号 twice in one batch
    items = [*good[:4], tampered, *good[4:], unknown, twice]
    assert len(items) >= checking.MIN_PARALLEL  # checked by the worker processes

    outcomes = intake.import_batch(loaded_municipality, items, trust=trust)

    kinds = [o.kind for o in outcomes]
    assert kinds == [*["imported"] * 4, "quarantined", *["imported"] * 4, "quarantined"] + [
        "duplicate"
    ]
    assert outcomes[-1].application.pk == outcomes[0].application.pk
    assert outcomes[4].reason == TAMPERED
    assert outcomes[9].reason == UNKNOWN_PROCEDURE
    cases = Application.objects.filter(channel=Channel.MYNAPORTAL)
    assert sorted(cases.values_list("source_reference", flat=True)) == [r for r, _ in good]
    assert QuarantinedPackage.objects.count() == 2
    # Every case whole: answers, its attachment (row and file), revision, 申請 event and
    # its 受付 status message, written with it.
    assert Attachment.objects.count() == 8 and len(media_files()) == 8
    for case in cases:
        assert case.receipt_number and case.applicant_name == "山田　花子"
        assert case.answers["insurance_document"][0]["name"] == "kenko.pdf"
        assert case.revisions.count() == 1
        assert case.events.filter(kind=ApplicationEvent.Kind.SUBMITTED).count() == 1
        message = OutboxMessage.objects.get(reference=status_sync.reference_for(case))
        assert message.payload["status_code"] == "01"
    assert sum(len(o.message_ids) for o in outcomes if o.kind == "imported") == 8


@pytest.mark.django_db
def test_without_worker_processes_a_thread_checks_the_batch_with_the_same_outcomes(
    loaded_municipality, mapping, card, trust, monkeypatch
):
    """MYNAPORTAL_VERIFY_PROCESSES=0 (or a daemonic Celery child): the batch is checked by a
    thread of the importing process; the outcomes are those of the worker processes, and the
    stored attachments carry the digest of their content (computed once, while verifying)."""
    monkeypatch.setenv("MYNAPORTAL_VERIFY_PROCESSES", "0")
    threads = []
    check_inline = checking._check_inline

    def recording(*args):
        threads.append(threading.current_thread().name)
        return check_inline(*args)

    monkeypatch.setattr(checking, "_check_inline", recording)
    items = [(_receipt(i), make_package(card, receipt=_receipt(i))) for i in range(1, 4)]
    items.insert(1, (_receipt(9), make_package(card, receipt=_receipt(9), tamper="data")))

    outcomes = intake.import_batch(loaded_municipality, items, trust=trust)

    assert [o.kind for o in outcomes] == ["imported", "quarantined", "imported", "imported"]
    assert outcomes[1].reason == TAMPERED
    assert len(threads) == 1 and threads[0].startswith("mynaportal-check")
    assert Attachment.objects.count() == 3
    for attachment in Attachment.objects.all():
        with attachment.file.open("rb") as handle:
            assert attachment.sha256 == hashlib.sha256(handle.read()).hexdigest()


@pytest.mark.django_db
def test_receipt_numbers_of_a_batch_are_consecutive_and_the_counter_goes_on(
    loaded_municipality, mapping, card, trust
):
    items = [(_receipt(i), make_package(card, receipt=_receipt(i))) for i in range(1, 4)]
    outcomes = intake.import_batch(loaded_municipality, items, trust=trust)
    numbers = [o.application.receipt_number for o in outcomes]
    year, first = numbers[0].split("-")
    assert numbers == [f"{year}-{int(first) + k:06d}" for k in range(3)]
    assert lifecycle.allocate_receipt_numbers(loaded_municipality) == [
        f"{year}-{int(first) + 3:06d}"
    ]


@pytest.mark.django_db
def test_a_failure_of_our_side_keeps_nothing_of_that_package_only(
    loaded_municipality, mapping, card, trust
):
    """The batch write fails; each package is then written alone and only the one that
    fails is left out (FAILED, nothing kept, next pull retries it)."""
    from madoguchi.applications.signals import events_recorded

    items = [(_receipt(i), make_package(card, receipt=_receipt(i))) for i in range(1, 4)]

    def fail_for_the_second(sender, events, **kwargs):
        if any(e.application.source_reference == _receipt(2) for e in events):
            raise OSError("disk full")

    events_recorded.connect(fail_for_the_second, dispatch_uid="test-disk-full")
    try:
        outcomes = intake.import_batch(loaded_municipality, items, trust=trust)
    finally:
        events_recorded.disconnect(dispatch_uid="test-disk-full")
    assert [o.kind for o in outcomes] == ["imported", "failed", "imported"]
    assert isinstance(outcomes[1].error, OSError)
    assert sorted(
        Application.objects.filter(channel=Channel.MYNAPORTAL).values_list(
            "source_reference", flat=True
        )
    ) == [_receipt(1), _receipt(3)]
    assert len(media_files()) == 2 and Attachment.objects.count() == 2
    assert not QuarantinedPackage.objects.exists()  # our failure, not the package's


def _package_with_own_file(card, i: int, files: int = 1) -> bytes:
    """A package whose attachment(s) say which package they belong to."""
    return make_package(
        card,
        receipt=_receipt(i),
        files=[
            (f"kenko{j}.pdf", "health_insurance", "application/pdf", PDF + f"%pkg-{i}-{j}".encode())
            for j in range(files)
        ],
    )


@pytest.mark.django_db
def test_the_files_are_stored_before_the_transaction_and_a_storage_failure_fails_one_package(
    loaded_municipality, mapping, card, trust, monkeypatch
):
    """Storage is S3 in production: the attachments are stored before the transaction that
    holds the 受付番号 counter (storage refuses any call inside one, madoguchi.ops.file_storage),
    under a name that does not need the case's id. A package one of whose files cannot be
    stored fails alone (our side: the next pull retries it) and leaves no file behind, not
    even its files that were stored."""
    from django.core.files.storage import default_storage

    items = [(_receipt(i), _package_with_own_file(card, i, files=2)) for i in range(1, 4)]
    default_storage.exists("attachments")  # resolves the lazy storage
    real_save_new = type(default_storage._wrapped).save_new

    def save_new(self, name, content):
        if content.read().endswith(b"%pkg-2-1"):
            raise OSError("S3 unavailable")
        return real_save_new(self, name, content)

    monkeypatch.setattr(type(default_storage._wrapped), "save_new", save_new)
    outcomes = intake.import_batch(loaded_municipality, items, trust=trust)

    assert [o.kind for o in outcomes] == ["imported", "failed", "imported"]
    assert str(outcomes[1].error) == "S3 unavailable"
    names = sorted(Attachment.objects.values_list("file", flat=True))
    assert len(names) == 4
    prefix = f"attachments/{loaded_municipality.pk}/received/"
    assert all(n.startswith(prefix) and n.split("/")[-2] == n.split("/")[-1][:2] for n in names)
    root = Path(settings.MEDIA_ROOT)
    # None left over: package 2's first file was stored, then deleted with the package.
    assert sorted(str(f.relative_to(root)) for f in media_files()) == names
    assert not QuarantinedPackage.objects.exists()


@pytest.mark.django_db
def test_the_files_of_a_batch_are_stored_side_by_side(
    loaded_municipality, mapping, card, trust, monkeypatch
):
    """On S3 each file is a network round trip: a batch's files are stored at once, not one
    after the other. Each save here waits until three saves are under way together: stored
    one at a time, the first would wait in vain (the barrier breaks after 30 s)."""
    from django.core.files.storage import default_storage

    items = [(_receipt(i), _package_with_own_file(card, i)) for i in range(1, 4)]
    default_storage.exists("attachments")
    monkeypatch.setattr(type(default_storage._wrapped), "saves_wait_on_network", True)
    real_save_new = type(default_storage._wrapped).save_new
    together = threading.Barrier(3, timeout=30)

    def save_new(self, name, content):
        together.wait()
        return real_save_new(self, name, content)

    monkeypatch.setattr(type(default_storage._wrapped), "save_new", save_new)
    outcomes = intake.import_batch(loaded_municipality, items, trust=trust)

    assert [o.kind for o in outcomes] == ["imported"] * 3
    stored = {bytes(a.file.open("rb").read()) for a in Attachment.objects.all()}
    assert stored == {PDF + f"%pkg-{i}-0".encode() for i in range(1, 4)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_pulls_racing_make_one_case_per_receipt_number(
    loaded_municipality, mapping, card, trust, monkeypatch
):
    """Both pulls find nothing imported yet, then both write: the database's unique
    constraint stops the second, which then finds the first one's cases."""
    from django.db import connections

    items = [(_receipt(i), make_package(card, receipt=_receipt(i))) for i in range(1, 6)]
    both_looked = threading.Barrier(2, timeout=30)
    begin = intake._begin

    def begin_then_wait(*args, **kwargs):
        started = begin(*args, **kwargs)
        both_looked.wait()  # neither writes before both have looked for existing cases
        return started

    monkeypatch.setattr(intake, "_begin", begin_then_wait)
    results = {}

    def pull(name):
        try:
            results[name] = intake.import_batch(loaded_municipality, items, trust=trust)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pull, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    kinds = sorted(o.kind for outcomes in results.values() for o in outcomes)
    assert kinds == ["duplicate"] * 5 + ["imported"] * 5
    cases = Application.objects.filter(channel=Channel.MYNAPORTAL)
    assert cases.count() == 5
    assert len(media_files()) == 5 and Attachment.objects.count() == 5
    assert OutboxMessage.objects.filter(kind=status_sync.KIND).count() == 5
