"""Files in S3-compatible object storage, against a real S3 protocol server (moto's server
mode, its own process — not a mock object): attachments stored by the portal and read back
by staff, export files, the readiness check of the bucket."""

import json
import os

import pytest
from django.core.files.base import ContentFile

from madoguchi_dev.s3_server import running_s3_server

pytestmark = pytest.mark.django_db

BUCKET = "madoguchi-test"


@pytest.fixture(scope="module")
def s3_server():
    with running_s3_server() as url:
        yield url


@pytest.fixture
def s3(settings, s3_server, monkeypatch):
    import boto3
    from botocore.config import Config

    from madoguchi.ops.storage import transfer_config

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "madoguchi.ops.object_storage.ObjectStorage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_server,
                "region_name": "us-east-1",
                "addressing_style": "path",
                "default_acl": "private",
                "file_overwrite": False,
                "max_memory_size": 64 * 1024,
                "transfer_config": transfer_config(),
                "client_config": Config(connect_timeout=2, read_timeout=10),
            },
        },
    }
    return client


def test_an_attachment_goes_to_the_bucket_and_comes_back_to_staff(s3, client, municipality):
    from madoguchi.applications.models import Attachment
    from tests.api.conftest import make_procedure, submit_application
    from tests.conftest import login_with_2fa, make_staff

    procedure = make_procedure(municipality)
    application = submit_application(procedure, with_attachment=True)
    attachment = Attachment.objects.get(application=application)
    # Under its own uid, never the resident's file name; stored without a HEAD first.
    assert attachment.file.name == (
        f"attachments/{municipality.pk}/{application.pk}/{attachment.uid}"
    )
    listed = s3.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert attachment.file.name in [item["Key"] for item in listed]
    body = s3.get_object(Bucket=BUCKET, Key=attachment.file.name)["Body"].read()
    assert body == b"%PDF-1.4 test"

    staff = make_staff("kodomo1", municipality, "kodomo")
    login_with_2fa(client, staff)
    from django.urls import reverse

    response = client.get(
        reverse("staff:attachment_download", args=[application.pk, attachment.uid])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"


def test_a_large_file_is_streamed_in_parts(s3):
    """A file past the multipart threshold goes up in parts and is read back in chunks."""
    from django.core.files.storage import default_storage

    payload = os.urandom(12 * 1024 * 1024)
    name = default_storage.save("attachments/large.bin", ContentFile(payload))
    head = s3.head_object(Bucket=BUCKET, Key=name)
    assert head["ContentLength"] == len(payload)
    assert "-" in head["ETag"]  # a multipart upload's ETag names its part count
    read = bytearray()
    with default_storage.open(name, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            assert len(chunk) <= 1024 * 1024
            read += chunk
    assert bytes(read) == payload
    default_storage.delete(name)


def test_a_large_attachment_is_stored_without_holding_it_in_memory(s3, municipality):
    """A 64 MiB upload (spooled to disk by Django, as every upload past 2 MiB is) goes to the
    bucket in 8 MiB parts, one at a time: the Python heap holds a few parts' worth (boto3
    keeps a couple of copies of the part it sends), never the whole file as reading it
    whole did."""
    import hashlib
    import tracemalloc

    from django.core.files.uploadedfile import TemporaryUploadedFile

    from madoguchi.applications import services
    from madoguchi.applications.models import Attachment
    from tests.api.conftest import make_procedure

    size = 64 * 1024 * 1024
    block = os.urandom(1024 * 1024)
    upload = TemporaryUploadedFile("大きな書類.pdf", "application/pdf", size, None)
    digest = hashlib.sha256()
    for _ in range(size // len(block)):
        upload.write(block)
        digest.update(block)
    upload.seek(0)
    application, _token = services.start_draft(make_procedure(municipality))

    tracemalloc.start()
    try:
        answer = services.store_attachment(
            application, "document", upload, content_type="application/pdf"
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        upload.close()
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 64 MiB file"
    assert answer["size"] == size
    assert answer["sha256"] == digest.hexdigest()
    attachment = Attachment.objects.get(uid=answer["attachment"])
    head = s3.head_object(Bucket=BUCKET, Key=attachment.file.name)
    assert head["ContentLength"] == size
    assert head["ETag"].endswith('-8"')  # eight 8 MiB parts
    read = hashlib.sha256()
    with attachment.file.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            read.update(chunk)
    assert read.hexdigest() == digest.hexdigest()


def test_readiness_checks_the_bucket(s3, client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content)["checks"]["storage"]["ok"] is True
    settings.STORAGES["default"]["OPTIONS"]["bucket_name"] = "no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"]["storage"]["ok"] is False


def test_the_bucket_is_never_called_inside_a_transaction(s3):
    """A save inside a transaction is refused before any request reaches S3 (it would hold
    the transaction's locks for as long as S3 takes); outside, the same save is stored."""
    from django.core.files.storage import default_storage
    from django.db import transaction

    from madoguchi.core.outbound import InsideTransactionError

    with transaction.atomic(), pytest.raises(InsideTransactionError, match="storage save"):
        default_storage.save("attachments/refused.bin", ContentFile(b"x"))
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="attachments/refused")
    name = default_storage.save("attachments/refused.bin", ContentFile(b"x"))
    assert s3.get_object(Bucket=BUCKET, Key=name)["Body"].read() == b"x"
    default_storage.delete(name)


def test_a_small_file_is_one_put_with_the_storage_parameters(s3, settings):
    """Below the multipart threshold a file is sent as one PutObject (ops.object_storage), with
    what django-storages' own upload sets: the content type (the file's, else from its
    name), the ACL and the configured object parameters."""
    from django.core.files.storage import default_storage

    settings.STORAGES["default"]["OPTIONS"]["object_parameters"] = {"CacheControl": "no-store"}
    settings.STORAGES = {**settings.STORAGES}
    named = default_storage.save("attachments/small/申請書.pdf", ContentFile(b"%PDF-1.4 small"))
    typed = ContentFile(b"\x89PNG...", name="x")
    typed.content_type = "image/png"
    given = default_storage.save("attachments/small/photo", typed)
    text = default_storage.save("attachments/small/note.txt", ContentFile("テキスト"))

    head = s3.head_object(Bucket=BUCKET, Key=named)
    assert head["ContentType"] == "application/pdf"
    assert head["CacheControl"] == "no-store"
    assert "-" not in head["ETag"]  # one PutObject, not a multipart upload
    assert s3.head_object(Bucket=BUCKET, Key=given)["ContentType"] == "image/png"
    body = s3.get_object(Bucket=BUCKET, Key=text)["Body"].read()
    assert body == "テキスト".encode()
    grants = s3.get_object_acl(Bucket=BUCKET, Key=named)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # private: the owner only
    with default_storage.open(named, "rb") as handle:
        assert handle.read() == b"%PDF-1.4 small"


def test_new_files_are_stored_at_once_under_their_names(s3, monkeypatch):
    """The intake's path: names made unique by the caller, stored without a HEAD first, by
    several threads at once (each with its own S3 connection)."""
    from madoguchi.ops.parallel_storage import store_new_files, upload_threads

    monkeypatch.delenv("STORAGE_UPLOAD_THREADS", raising=False)
    assert upload_threads() == 8  # S3's saves wait on the network: the default pool
    files = [(f"attachments/parallel/{i:02d}", f"file {i}".encode()) for i in range(12)]
    assert store_new_files(files) == [name for name, _ in files]
    for name, content in files:
        assert s3.get_object(Bucket=BUCKET, Key=name)["Body"].read() == content
