"""core.bulk_insert: the rows bulk_create would write, without its per-value work."""

import datetime

import pytest
from django.db import connection, transaction
from django.db.models import query
from django.db.models.functions import Now
from django.utils import timezone

from madoguchi.applications import lifecycle
from madoguchi.applications.models import (
    AnswerRevision,
    Application,
    ApplicationEvent,
    Attachment,
    Channel,
    DepartmentProgress,
)
from madoguchi.catalog.models import Procedure
from madoguchi.core import bulk_insert

pytestmark = pytest.mark.django_db
postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the fast path is PostgreSQL's"
)

RECEIVED = datetime.datetime(2026, 4, 1, 9, 30, tzinfo=datetime.UTC)
# Columns that differ between two receptions of the same applications by design: the ids
# (a rolled-back sequence is not given back), the times of the insert, the random token.
VARYING = {
    "id",
    "application_id",
    "created_at",
    "updated_at",
    "uploaded_at",
    "at",
    "status_token_digest",
}


@pytest.fixture
def bulk_creates(monkeypatch):
    """The models bulk_create was called for."""
    seen = []
    original = query.QuerySet.bulk_create

    def recording(self, objs, *args, **kwargs):
        seen.append(self.model.__name__)
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(query.QuerySet, "bulk_create", recording)
    return seen


def _incoming(procedure, number: int) -> lifecycle.Incoming:
    files = [
        lifecycle.IncomingFile(
            field_key="attachment",
            name=f"証明書{number}.pdf",
            content_type="application/pdf",
            content=b"%PDF-1.4 " + str(number).encode(),
            answer_key="attachments",
        )
    ]
    return lifecycle.Incoming(
        procedure=procedure,
        answers={
            "applicant_name": {"family": "山田", "given": f"花子{number}"},
            "note": 'quote " and \\ backslash, {braces}, NULL',
            "empty": "",
        },
        channel=Channel.MYNAPORTAL,
        received_at=RECEIVED + datetime.timedelta(minutes=number),
        source_reference=f"M-{number:04d}",
        identity={"certificate_serial": f"{number:08X}", "basic_four": {"name": "山田 花子"}},
        files=files,
        fallback_name="山田 花子",
        event_data={"source_reference": f"M-{number:04d}", "unmapped_items": {"x": [1, None]}},
    )


def _rows(model, application_ids: list[int]) -> list[dict]:
    order = {pk: index for index, pk in enumerate(application_ids)}
    key = "pk" if model is Application else "application_id"
    rows = model.objects.filter(**{f"{key}__in": application_ids}).values()
    rows = sorted(rows, key=lambda r: (order[r["id" if key == "pk" else key]], r["id"]))
    return [
        {name: value for name, value in row.items() if name not in VARYING}
        | {"#": order[row["id" if key == "pk" else key]]}
        for row in rows
    ]


def _received_rows(municipality, items) -> dict[str, list[dict]]:
    """Receive the items in a savepoint, read every row written, and roll back (so that a
    second reception gets the same 受付番号)."""
    with transaction.atomic():
        applications = lifecycle.receive(municipality, items, actor=lifecycle.Actor.system())
        assert all(a.pk and not a._state.adding for a in applications)
        ids = [a.pk for a in applications]
        rows = {
            model.__name__: _rows(model, ids)
            for model in (Application, Attachment, AnswerRevision, DepartmentProgress)
        }
        rows["ApplicationEvent"] = _rows(ApplicationEvent, ids)
        transaction.set_rollback(True)
    return rows


@postgresql
def test_a_received_batch_writes_the_rows_bulk_create_writes(
    loaded_municipality, bulk_creates, monkeypatch
):
    procedure = (
        Procedure.objects.filter(municipality=loaded_municipality, current_version__isnull=False)
        .exclude(departments=None)
        .first()
    )
    items = [_incoming(procedure, number) for number in range(1, 4)]
    stored, failed = lifecycle.store_received_files(
        loaded_municipality, {i: item.files for i, item in enumerate(items)}
    )
    assert not failed

    fast = _received_rows(loaded_municipality, items)
    assert not {"Application", "Attachment", "AnswerRevision", "DepartmentProgress"} & set(
        bulk_creates
    ), "the fast path was not taken"
    monkeypatch.setattr(bulk_insert, "_plan", lambda model, alias: None)  # bulk_create's way
    reference = _received_rows(loaded_municipality, items)

    assert {"Application", "Attachment", "AnswerRevision"} <= set(bulk_creates)
    assert [len(fast[name]) for name in reference] == [
        3,
        3,
        3,
        3 * procedure.departments.count(),
        3,
    ]
    assert fast == reference
    first = fast["Application"][0]
    assert first["answers"]["note"] == 'quote " and \\ backslash, {braces}, NULL'
    assert first["receipt_number"] and first["submitted_at"] == RECEIVED + datetime.timedelta(
        minutes=1
    )


@postgresql
def test_what_the_fast_path_does_not_cover_goes_to_bulk_create(municipality, bulk_creates):
    from madoguchi.outbox.models import OutboxMessage

    def message(n, **fields):
        return OutboxMessage(kind="email", payload={"n": n}, reference=f"r{n}", **fields)

    one = bulk_insert.insert([message(1)])
    assert bulk_creates == ["OutboxMessage"] and one[0].pk  # one row: as it is
    with_key = bulk_insert.insert([message(2, pk=one[0].pk + 1000), message(3)])
    assert bulk_creates == ["OutboxMessage"] * 2 and with_key[0].pk == one[0].pk + 1000
    expression = bulk_insert.insert([message(4, next_attempt_at=Now()), message(5)])
    assert bulk_creates == ["OutboxMessage"] * 3
    assert OutboxMessage.objects.get(pk=expression[0].pk).next_attempt_at <= timezone.now()
    fast = bulk_insert.insert([message(6), message(7)])
    assert bulk_creates == ["OutboxMessage"] * 3
    assert [OutboxMessage.objects.get(pk=m.pk).payload for m in fast] == [{"n": 6}, {"n": 7}]


@postgresql
def test_a_field_that_converts_its_values_still_does(municipality):
    """A subclass of a plain field (EncryptedTextField is a TextField) goes through its own
    preparation: the column holds the ciphertext, the model reads the secret back."""
    from madoguchi.api.models import ApiClient
    from madoguchi.webhooks.models import WebhookSubscription

    client = ApiClient.objects.create(municipality=municipality, name="基幹", client_id="kikan")
    made = bulk_insert.insert(
        [
            WebhookSubscription(client=client, url=f"https://kikan.example.jp/{n}", secret=f"s{n}")
            for n in range(2)
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM webhooks_webhooksubscription WHERE id = %s", [made[0].pk]
        )
        assert cursor.fetchone()[0] not in ("s0", "")
    assert [WebhookSubscription.objects.get(pk=m.pk).secret for m in made] == ["s0", "s1"]
    assert all(m.created_at is not None for m in made)  # auto_now_add, as bulk_create


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other databases")
def test_elsewhere_it_is_bulk_create(municipality, bulk_creates):
    from madoguchi.outbox.models import OutboxMessage

    made = bulk_insert.insert([OutboxMessage(kind="email", payload={}) for _ in range(3)])
    assert bulk_creates == ["OutboxMessage"] and OutboxMessage.objects.count() == 3
    assert len(made) == 3
