"""ops.parallel_storage: a batch's new files stored at once, each result in its place."""

import threading

import pytest
from django.core.files.storage import default_storage

from madoguchi.ops import parallel_storage

pytestmark = pytest.mark.django_db


def test_every_file_is_stored_under_its_name_in_order():
    files = [(f"attachments/parallel/{i:02d}", f"content {i}".encode()) for i in range(20)]
    assert parallel_storage.store_new_files(files) == [name for name, _ in files]
    for name, content in files:
        assert default_storage.open(name).read() == content


def test_a_failed_file_is_its_own_result_and_the_others_are_stored(monkeypatch):
    default_storage.exists("attachments")  # resolves the lazy storage
    real_save_new = type(default_storage._wrapped).save_new

    def save_new(self, name, content):
        if name.endswith("/bad"):
            raise OSError("S3 unavailable")
        return real_save_new(self, name, content)

    monkeypatch.setattr(type(default_storage._wrapped), "save_new", save_new)
    results = parallel_storage.store_new_files(
        [
            ("attachments/parallel/a", b"a"),
            ("attachments/parallel/bad", b"x"),
            ("attachments/parallel/b", b"b"),
        ]
    )
    assert results[0] == "attachments/parallel/a" and results[2] == "attachments/parallel/b"
    assert isinstance(results[1], OSError) and str(results[1]) == "S3 unavailable"
    assert not default_storage.exists("attachments/parallel/bad")


def test_the_files_are_stored_by_several_threads_at_once(monkeypatch):
    """Four saves that each wait until four are under way: stored one at a time, the first
    would wait in vain (the barrier breaks after 30 s and the results are errors)."""
    default_storage.exists("attachments")
    monkeypatch.setattr(type(default_storage._wrapped), "saves_wait_on_network", True)
    real_save_new = type(default_storage._wrapped).save_new
    together = threading.Barrier(4, timeout=30)

    def save_new(self, name, content):
        together.wait()
        return real_save_new(self, name, content)

    monkeypatch.setattr(type(default_storage._wrapped), "save_new", save_new)
    files = [(f"attachments/parallel/t{i}", b"x") for i in range(4)]
    assert parallel_storage.store_new_files(files) == [name for name, _ in files]


@pytest.mark.parametrize(
    "threads, network", [("1", True), ("8", False)], ids=["one thread", "local folder"]
)
def test_one_thread_stores_them_one_after_the_other(monkeypatch, threads, network):
    """STORAGE_UPLOAD_THREADS=1, or a storage whose saves do not wait on the network (the
    local folder): every file is written in the caller's thread."""
    monkeypatch.setenv("STORAGE_UPLOAD_THREADS", threads)
    seen = set()
    default_storage.exists("attachments")
    monkeypatch.setattr(type(default_storage._wrapped), "saves_wait_on_network", network)
    real_save_new = type(default_storage._wrapped).save_new

    def save_new(self, name, content):
        seen.add(threading.get_ident())
        return real_save_new(self, name, content)

    monkeypatch.setattr(type(default_storage._wrapped), "save_new", save_new)
    files = [(f"attachments/parallel/s{i}", b"x") for i in range(3)]
    assert parallel_storage.store_new_files(files) == [name for name, _ in files]
    assert seen == {threading.get_ident()}
