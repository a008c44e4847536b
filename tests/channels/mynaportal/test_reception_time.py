"""The intake judges a signature at マイナポータル's reception time (the 受付日時 the 受取等API
reports), carried from the API through the pull, the quarantine and reprocessing; a package
without one is judged at the time of the pull and the case says so."""

import base64
import datetime

import pytest
from django.utils import timezone

from madoguchi.applications.models import Application, Channel
from madoguchi.channels.models import MynaportalConnection, MynaportalMapping, QuarantinedPackage
from madoguchi.channels.mynaportal import intake
from madoguchi.channels.mynaportal.client import MynaportalClient
from madoguchi.channels.mynaportal.pull import pull

from .helpers import make_package

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def jst(dt: datetime.datetime) -> str:
    local = timezone.localtime(dt)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


@pytest.fixture
def since_expired(ca):
    """A card that expired two days ago (valid for the five years before)."""
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    return ca.issue_card(
        name="期限　切子",
        sex="2",
        birth=datetime.date(1990, 1, 2),
        address="東京都千代田区千代田1-1",
        not_before=now - datetime.timedelta(days=1800),
        not_after=now - datetime.timedelta(days=2),
    )


def test_received_while_valid_imports_after_the_certificate_expired(
    loaded_municipality, mapping, since_expired, trust
):
    received = since_expired.certificate.not_valid_after_utc - datetime.timedelta(days=1)
    raw = make_package(since_expired, signing_time=received - datetime.timedelta(minutes=1))
    outcome = intake.import_package(
        loaded_municipality,
        raw,
        source_reference="2026040100000001",
        received_at=received,
        trust=trust,
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    identity = outcome.application.identity
    assert identity["signature_valid"] is True
    assert identity["received_at"] == received.isoformat()
    assert identity["validated_at"] == received.isoformat()
    assert identity["validated_at_source"] == "received_at"


def test_expired_and_backdated_is_quarantined_with_the_reception_time(
    loaded_municipality, mapping, since_expired, trust
):
    received = datetime.datetime.now(UTC).replace(microsecond=0)
    backdated = since_expired.certificate.not_valid_after_utc - datetime.timedelta(days=3)
    raw = make_package(since_expired, signing_time=backdated)
    outcome = intake.import_package(
        loaded_municipality,
        raw,
        source_reference="2026040100000001",
        received_at=received,
        trust=trust,
    )
    assert outcome.kind == intake.QUARANTINED
    expiry = since_expired.certificate.not_valid_after_utc
    assert outcome.reason == (
        f"署名用電子証明書の有効期限（{jst(expiry)}）がマイナポータルの受付日時（{jst(received)}）"
        "には切れています。"
    )
    assert QuarantinedPackage.objects.get().received_at == received


def test_without_reception_time_the_pull_time_decides_and_the_case_says_so(
    loaded_municipality, mapping, card, since_expired, trust
):
    early = datetime.datetime.now(UTC) - datetime.timedelta(days=3)
    outcome = intake.import_package(
        loaded_municipality,
        make_package(card, signing_time=early),
        source_reference="2026040100000001",
        trust=trust,
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    identity = outcome.application.identity
    assert identity["validated_at_source"] == "pulled_at" and identity["received_at"] is None
    assert any(
        w.startswith("マイナポータルから受付日時が届かなかったため") for w in identity["warnings"]
    )
    outcome = intake.import_package(
        loaded_municipality,
        make_package(since_expired, receipt="2026040100000002", signing_time=early),
        source_reference="2026040100000002",
        trust=trust,
    )
    assert outcome.kind == intake.QUARANTINED
    assert "取得日時" in outcome.reason and "有効期限" in outcome.reason


def test_reprocessing_judges_at_the_same_reception_time(
    loaded_municipality, procedure, since_expired, trust
):
    """Quarantined for a missing item mapping while the certificate was valid at reception;
    reprocessed after it expired: imported, judged at the reception time again."""
    received = since_expired.certificate.not_valid_after_utc - datetime.timedelta(days=1)
    raw = make_package(since_expired, signing_time=received)
    first = intake.import_package(
        loaded_municipality,
        raw,
        source_reference="2026040100000001",
        received_at=received,
        trust=trust,
    )
    assert first.kind == intake.QUARANTINED and "手続コード" in first.reason
    MynaportalMapping.objects.create(
        municipality=loaded_municipality, procedure=procedure, procedure_code="jidou_teate_genkyo"
    )
    entry = QuarantinedPackage.objects.get()
    assert entry.received_at == received
    outcome = intake.reprocess(entry, trust=trust)
    assert outcome.kind == intake.IMPORTED, outcome.reason
    assert outcome.application.identity["validated_at"] == received.isoformat()
    entry.refresh_from_db()
    assert entry.state == QuarantinedPackage.State.RESOLVED


def test_revoked_after_reception_imports_with_a_warning(loaded_municipality, mapping, ca, card):
    received = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(hours=3)
    revoked_at = received + datetime.timedelta(hours=1)
    ca.revoke(card.serial, at=revoked_at)
    outcome = intake.import_package(
        loaded_municipality,
        make_package(card, signing_time=received),
        source_reference="2026040100000001",
        received_at=received,
        trust=ca.trust_store(),
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    assert outcome.application.identity["warnings"] == [
        f"署名用電子証明書はマイナポータルの受付日時（{jst(received)}）の後"
        f"（{jst(revoked_at)}）に失効しています。マイナポータルの受付日時には有効だったため、"
        "署名は有効です。"
    ]
    # Revoked before the reception: refused, the reason says when.
    outcome = intake.import_package(
        loaded_municipality,
        make_package(card, receipt="2026040100000002", signing_time=revoked_at),
        source_reference="2026040100000002",
        received_at=revoked_at + datetime.timedelta(minutes=1),
        trust=ca.trust_store(),
    )
    assert outcome.kind == intake.QUARANTINED
    assert outcome.reason.startswith(
        f"失効した証明書で署名されています（失効日時：{jst(revoked_at)}"
    )


# --- through the simulator: the reception time travels with the API's answers -----------------


@pytest.fixture
def connection(loaded_municipality, simulator, monkeypatch):
    monkeypatch.setenv("MADOGUCHI_MYNAPORTAL_PASSWORD_131016", "simulator")
    return MynaportalConnection.objects.create(
        municipality=loaded_municipality, base_url=simulator.url, login_id="madoguchi"
    )


def store_raw(simulator, raw: bytes, receipt: str, received_at):
    simulator.post_json(
        "/api/v1/resident/raw",
        {
            "lg_code": "131016",
            "procedure_code": "jidou_teate_genkyo",
            "package": base64.b64encode(raw).decode(),
            "receipt_number": receipt,
            "received_at": received_at.isoformat() if received_at else None,
        },
    )


def test_pull_carries_the_reception_time_from_the_api(
    loaded_municipality, mapping, connection, simulator, card, since_expired, db_trust
):
    expiry = since_expired.certificate.not_valid_after_utc
    received_then = expiry - datetime.timedelta(days=1)
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    # Received while valid (reported so by the API), pulled after the expiry: imported.
    store_raw(
        simulator,
        make_package(since_expired, receipt="2026040100000011", signing_time=received_then),
        "2026040100000011",
        received_then,
    )
    # Received now, SigningTime backdated into the validity: refused.
    store_raw(
        simulator,
        make_package(since_expired, receipt="2026040100000012", signing_time=received_then),
        "2026040100000012",
        now,
    )
    # Reported without a reception time: judged at the pull.
    store_raw(simulator, make_package(card, receipt="2026040100000013"), "2026040100000013", None)

    client = MynaportalClient(simulator.url, "madoguchi", "simulator")
    listed = {s.receipt_number: s.received_at for s in client.list_applications(lg_code="131016")}
    assert listed["2026040100000011"] == received_then
    assert listed["2026040100000013"] is None
    assert client.get_application("2026040100000012")["received_at"] == now

    result = pull(connection)
    assert (result.imported, result.quarantined, result.failed) == (2, 1, 0), result.errors
    first = Application.objects.get(channel=Channel.MYNAPORTAL, source_reference="2026040100000011")
    assert first.identity["validated_at"] == received_then.isoformat()
    entry = QuarantinedPackage.objects.get(source_reference="2026040100000012")
    assert entry.received_at == now
    assert entry.reason == (
        f"署名用電子証明書の有効期限（{jst(expiry)}）がマイナポータルの受付日時（{jst(now)}）"
        "には切れています。"
    )
    third = Application.objects.get(channel=Channel.MYNAPORTAL, source_reference="2026040100000013")
    assert third.identity["validated_at_source"] == "pulled_at"


def test_the_application_is_received_at_the_reception_time_not_at_the_import(
    loaded_municipality, mapping, card, trust
):
    """受付日時 and the processing target count from マイナポータル's reception time: an
    application pulled three hours after residents sent it was received three hours ago."""
    mapping.procedure.target_days = 14
    mapping.procedure.save(update_fields=["target_days"])
    received = datetime.datetime.now(UTC).replace(microsecond=0) - datetime.timedelta(hours=3)
    raw = make_package(card, signing_time=received - datetime.timedelta(minutes=1))
    outcome = intake.import_package(
        loaded_municipality,
        raw,
        source_reference="2026040100000001",
        received_at=received,
        trust=trust,
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    application = Application.objects.get(pk=outcome.application.pk)
    assert application.submitted_at == received
    assert application.due_at == received + datetime.timedelta(days=14)
    assert application.revisions.get().submitted_at == received

    # Without a reception time (an older API), the time of the pull.
    before = timezone.now()
    raw = make_package(card, receipt="2026040100000002")
    outcome = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000002", trust=trust
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    application = Application.objects.get(pk=outcome.application.pk)
    assert before <= application.submitted_at <= timezone.now()


def test_status_labels_sent_to_mynaportal_are_the_models_labels_in_japanese():
    from django.utils import translation

    from madoguchi.applications.models import Status
    from madoguchi.channels.mynaportal.status_sync import status_label

    with translation.override("en"):
        assert [status_label(s) for s in Status.values if s != Status.DRAFT] == [
            "受付",
            "処理中",
            "要再申請",
            "完了",
            "却下",
            "取り下げ",
        ]
