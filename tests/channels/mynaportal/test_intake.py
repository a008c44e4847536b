"""Intake: verify → map → one case per 受付番号; quarantine with a reason; no half case."""

import datetime
from pathlib import Path

import pytest
from django.conf import settings

from madoguchi.applications.models import Application, ApplicationEvent, Attachment, Channel
from madoguchi.channels.models import QuarantinedPackage
from madoguchi.channels.mynaportal import intake
from madoguchi_dev.testca import TestCA

from .helpers import PDF, make_package

pytestmark = pytest.mark.django_db


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_import_makes_one_case_with_identity_answers_and_attachment(
    loaded_municipality, mapping, card, trust
):
    raw = make_package(card)
    outcome = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000001", trust=trust
    )
    assert outcome.kind == intake.IMPORTED, outcome.reason
    case = outcome.application
    assert case.channel == Channel.MYNAPORTAL
    assert case.source_reference == "2026040100000001"
    assert case.status == "received" and case.receipt_number
    assert case.identity["certificate_serial"] == card.serial
    assert case.identity["signature_valid"] is True
    assert case.identity["basic_four"]["name"] == "山田 花子"
    assert case.answers["recipient_name"] == {"family": "山田", "given": "花子"}
    assert case.answers["submission_reason"] == "dv"
    [answer] = case.answers["insurance_document"]
    attachment = Attachment.objects.get(uid=answer["attachment"])
    assert attachment.file.read() == PDF
    submitted = case.events.get(kind=ApplicationEvent.Kind.SUBMITTED)
    assert submitted.data["unmapped_items"] == {"unknown_item": "残す値"}
    assert case.applicant_name


def test_same_receipt_number_twice_is_one_case(loaded_municipality, mapping, card, trust):
    raw = make_package(card)
    first = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000001", trust=trust
    )
    second = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000001", trust=trust
    )
    third = intake.import_package(loaded_municipality, raw, trust=trust)  # reference from the data
    assert second.kind == third.kind == intake.DUPLICATE
    assert second.application.pk == first.application.pk
    assert Application.objects.filter(channel=Channel.MYNAPORTAL).count() == 1
    assert Attachment.objects.count() == 1


def test_known_serial_gets_atena_number(loaded_municipality, mapping, card, trust):
    from madoguchi.identity.serial_links import import_full

    csv = f"シリアル番号（16進）,宛名番号,有効開始日\n{card.serial},000123456,2020-01-01\n".encode()
    report = import_full(loaded_municipality, csv, file_name="links.csv")
    assert getattr(report, "ok", True), report
    outcome = intake.import_package(loaded_municipality, make_package(card), trust=trust)
    case = Application.objects.get(pk=outcome.application.pk)
    assert case.atena_number == "000123456"
    assert case.identity["atena_source"] == "serial_link"


def test_crash_mid_import_leaves_nothing_and_next_pull_imports(
    loaded_municipality, mapping, card, trust
):
    from madoguchi.applications.signals import events_recorded

    raw = make_package(card)

    def crash(sender, events, **kwargs):
        event = events[0]
        # Called while the case is being written: its rows and its file exist by now.
        assert Attachment.objects.filter(application=event.application).exists()
        assert media_files()
        raise RuntimeError("power cut")

    events_recorded.connect(crash, dispatch_uid="test-power-cut")
    try:
        with pytest.raises(RuntimeError, match="power cut"):
            intake.import_package(
                loaded_municipality, raw, source_reference="2026040100000001", trust=trust
            )
    finally:
        events_recorded.disconnect(dispatch_uid="test-power-cut")
    assert not Application.objects.filter(channel=Channel.MYNAPORTAL).exists()
    assert not Attachment.objects.exists()
    assert media_files() == []
    assert not QuarantinedPackage.objects.exists()  # our failure, not the package's

    outcome = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000001", trust=trust
    )
    assert outcome.kind == intake.IMPORTED
    assert len(media_files()) == 1


def _quarantined(municipality, raw, trust, reference="2026040100000001"):
    outcome = intake.import_package(municipality, raw, source_reference=reference, trust=trust)
    assert outcome.kind == intake.QUARANTINED
    assert not Application.objects.filter(channel=Channel.MYNAPORTAL).exists()
    assert not Attachment.objects.exists()
    entry = QuarantinedPackage.objects.get(source_reference=reference)
    assert entry.reason and entry.state == QuarantinedPackage.State.QUARANTINED
    assert bytes(entry.raw_package) == raw
    return entry


def test_malformed_package_is_quarantined(loaded_municipality, mapping, trust):
    entry = _quarantined(loaded_municipality, b"not a zip", trust)
    assert "ZIP" in entry.reason


def test_tampered_data_is_quarantined(loaded_municipality, mapping, card, trust):
    _quarantined(loaded_municipality, make_package(card, tamper="data"), trust)


def test_tampered_attachment_is_quarantined(loaded_municipality, mapping, card, trust):
    entry = _quarantined(loaded_municipality, make_package(card, tamper="attachment"), trust)
    assert "添付" in entry.reason


def test_expired_certificate_is_quarantined(loaded_municipality, mapping, ca, trust):
    now = datetime.datetime.now(datetime.UTC)
    old = ca.issue_card(
        name="山田 太郎",
        sex="1",
        birth=datetime.date(1980, 1, 1),
        address="東京都千代田区",
        not_before=now - datetime.timedelta(days=400),
        not_after=now - datetime.timedelta(days=10),
    )
    _quarantined(loaded_municipality, make_package(old), trust)


def test_revoked_certificate_is_quarantined(loaded_municipality, mapping, ca, card):
    ca.revoke(card.serial)
    entry = _quarantined(loaded_municipality, make_package(card), ca.trust_store())
    assert "失効" in entry.reason


def test_unknown_ca_is_quarantined(loaded_municipality, mapping, card):
    other = TestCA.create()
    _quarantined(loaded_municipality, make_package(card), other.trust_store())


def test_other_municipality_is_quarantined(loaded_municipality, mapping, card, trust):
    entry = _quarantined(loaded_municipality, make_package(card, lg_code="012131"), trust)
    assert "地方公共団体コード" in entry.reason


def test_receipt_number_mismatch_is_quarantined(loaded_municipality, mapping, card, trust):
    raw = make_package(card, receipt="2026040100000009")
    _quarantined(loaded_municipality, raw, trust, reference="2026040100000001")


def test_unknown_procedure_is_quarantined_and_reprocessed_after_mapping(
    loaded_municipality, procedure, card, trust
):
    from madoguchi.channels.models import MynaportalMapping

    raw = make_package(card)
    entry = _quarantined(loaded_municipality, raw, trust)
    assert "手続コード" in entry.reason
    again = intake.import_package(
        loaded_municipality, raw, source_reference="2026040100000001", trust=trust
    )
    assert again.kind == intake.QUARANTINED
    entry.refresh_from_db()
    assert entry.attempts == 2 and QuarantinedPackage.objects.count() == 1

    MynaportalMapping.objects.create(
        municipality=loaded_municipality, procedure=procedure, procedure_code="jidou_teate_genkyo"
    )
    outcome = intake.reprocess(entry, trust=trust)
    assert outcome.kind == intake.IMPORTED
    entry.refresh_from_db()
    assert entry.state == QuarantinedPackage.State.RESOLVED
    assert entry.application_id == outcome.application.pk


def test_unknown_ca_stays_quarantined_on_reprocess(loaded_municipality, mapping, card):
    """Re-processing with the cause not fixed (CA not loaded) quarantines it again."""
    entry = _quarantined(loaded_municipality, make_package(card), TestCA.create().trust_store())
    # With the database trust store (the real path), the test CA is not loaded yet: still out.
    assert intake.reprocess(entry).kind == intake.QUARANTINED


def test_admin_reprocess_action(loaded_municipality, procedure, card, db_trust):
    """A 管理者 (of this municipality) sees the entry in the admin and re-processes it."""
    from django.test import Client

    from madoguchi.channels.models import MynaportalMapping
    from tests.conftest import login_with_2fa, make_staff

    user = make_staff("kanri", loaded_municipality, role="admin")
    user.is_staff = True
    user.save()
    admin_client = login_with_2fa(Client(), user)

    entry = _quarantined(loaded_municipality, make_package(card), None)
    listing = admin_client.get("/admin/channels/quarantinedpackage/")
    assert "2026040100000001" in listing.content.decode()
    MynaportalMapping.objects.create(
        municipality=loaded_municipality, procedure=procedure, procedure_code="jidou_teate_genkyo"
    )
    response = admin_client.post(
        "/admin/channels/quarantinedpackage/",
        {"action": "reprocess", "_selected_action": [entry.pk]},
    )
    assert response.status_code in (200, 302), response
    entry.refresh_from_db()
    assert entry.state == QuarantinedPackage.State.RESOLVED
