"""Storage is never called inside a database transaction (madoguchi.ops.file_storage): in
production it is S3, and a call made there would hold the transaction and its row locks for
as long as S3 takes. The embedded default's folder refuses the same calls, so every test
that stores a file inside a transaction fails."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from madoguchi.core.outbound import InsideTransactionError
from madoguchi.ops.file_storage import LocalStorage
from madoguchi.ops.parallel_storage import store_new_files

pytestmark = pytest.mark.django_db


def test_the_default_storage_is_the_guarded_one():
    default_storage.exists("attachments")  # resolves the lazy object
    assert isinstance(default_storage._wrapped, LocalStorage)


@pytest.mark.parametrize(
    ("call", "what"),
    [
        (lambda name: default_storage.save("attachments/guard/new", ContentFile(b"x")), "save"),
        (lambda name: default_storage.save_new("attachments/guard/new", ContentFile(b"x")), "save"),
        (lambda name: store_new_files([("attachments/guard/new", b"x")]), "save"),
        (lambda name: default_storage.open(name).read(), "open"),
        (lambda name: default_storage.delete(name), "delete"),
        (lambda name: default_storage.exists(name), "exists"),
        (lambda name: default_storage.listdir("attachments/guard"), "listdir"),
        (lambda name: default_storage.size(name), "size"),
        (lambda name: default_storage.get_modified_time(name), "get_modified_time"),
    ],
)
def test_each_call_is_refused_inside_a_transaction(call, what):
    name = default_storage.save("attachments/guard/file", ContentFile(b"content"))
    with transaction.atomic():
        with pytest.raises(InsideTransactionError) as refused:
            call(name)
    assert str(refused.value) == (
        f"storage {what}: a network call must not be made inside a database transaction"
    )
    # The refused call changed nothing; outside a transaction the same call works.
    assert default_storage.open(name).read() == b"content"
    assert not default_storage.exists("attachments/guard/new")
    call(name)


def test_building_a_url_is_not_a_call():
    with transaction.atomic():
        assert default_storage.url("attachments/guard/file").endswith("attachments/guard/file")


def test_save_new_never_overwrites_a_file_in_the_folder():
    """`save_new` skips the lookup of a free name (S3's HEAD); the local folder still opens
    the file exclusively and takes another name when the name is taken."""
    first = default_storage.save_new("attachments/guard/unique", ContentFile(b"first"))
    second = default_storage.save_new("attachments/guard/unique", ContentFile(b"second"))
    assert first == "attachments/guard/unique"
    assert second != first and second.startswith("attachments/guard/unique")
    assert default_storage.open(first).read() == b"first"
    assert default_storage.open(second).read() == b"second"


@pytest.mark.parametrize("name", ["../outside", "/absolute/path", "attachments/../../x"])
def test_save_new_refuses_a_name_outside_the_storage(name):
    from django.core.exceptions import SuspiciousFileOperation

    with pytest.raises(SuspiciousFileOperation):
        default_storage.save_new(name, ContentFile(b"x"))


def test_save_new_writes_into_an_existing_folder_with_the_configured_mode(settings):
    """The direct write (folder there, name free) stores the same bytes under the name, with
    FILE_UPLOAD_PERMISSIONS as Django's own save applies them."""
    import os
    import stat

    settings.FILE_UPLOAD_PERMISSIONS = 0o640
    default_storage.save_new("attachments/direct/first", ContentFile(b"makes the folder"))
    payload = os.urandom(100_000)
    name = default_storage.save_new("attachments/direct/second", ContentFile(payload))
    assert name == "attachments/direct/second"
    assert default_storage.open(name).read() == payload
    assert stat.S_IMODE(os.stat(default_storage.path(name)).st_mode) == 0o640


def test_save_new_leaves_no_partial_file_when_the_write_fails(monkeypatch):
    import os

    from madoguchi.ops import file_storage

    default_storage.save_new("attachments/direct/folder", ContentFile(b"makes the folder"))
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fd):
            self.handle = real_fdopen(fd, "wb")

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            self.handle.write(data[:10])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(file_storage.os, "fdopen", lambda fd, mode: Full(fd))
    with pytest.raises(OSError, match="No space left"):
        default_storage.save_new("attachments/direct/partial", ContentFile(b"x" * 1000))
    monkeypatch.undo()
    assert not default_storage.exists("attachments/direct/partial")
