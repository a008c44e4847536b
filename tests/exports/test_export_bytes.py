"""The export file, byte for byte: a representative set of applications (every field type,
repeat groups, unanswered and odd stored values, CSV quoting, formula cells, characters CP932
holds twice and characters it cannot hold) exported through the real job in each format and
compared with files stored in `fixtures/`. The stored files were written by the exporter
before it was made fast; any change of a byte is a change of behaviour.

To write the files again on purpose (a deliberate change of the format), run this module with
EXPORT_FIXTURES_WRITE=1 and review the diff.
"""

import csv
import datetime as dt
import io
import json
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from madoguchi.applications.models import AnswerRevision, Application
from madoguchi.exports import runner
from madoguchi.exports.models import ExportJob
from tests.filling import valid_answers

from .conftest import MY_NUMBER, make_procedure, submit

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
WRITE = os.environ.get("EXPORT_FIXTURES_WRITE") == "1"

OPTIONS = [{"value": "a", "label": "持ち家"}, {"value": "b", "label": "借家, 社宅"}]

EVERY_TYPE_FORM = {
    "title": "すべての項目",
    "steps": [
        {
            "key": "main",
            "title": "申請内容",
            "fields": [
                {"key": "name", "type": "name", "label": "氏名", "required": True},
                {"key": "kana", "type": "katakana", "label": "フリガナ"},
                {"key": "birth", "type": "date", "label": "生年月日"},
                {"key": "zip", "type": "postal_code", "label": "郵便番号"},
                {"key": "address", "type": "address", "label": "住所"},
                {"key": "phone", "type": "phone", "label": "電話番号"},
                {"key": "email", "type": "email", "label": "メールアドレス"},
                {"key": "count", "type": "integer", "label": "人数", "unit": "人"},
                {"key": "rate", "type": "decimal", "label": "割合", "unit": "%"},
                {"key": "income", "type": "money", "label": "所得"},
                {"key": "house", "type": "select", "label": "住居", "options": OPTIONS},
                {"key": "house2", "type": "radio", "label": "住居2", "options": OPTIONS},
                {"key": "needs", "type": "checkboxes", "label": "必要", "options": OPTIONS},
                {"key": "agree", "type": "yesno", "label": "同意"},
                {"key": "notice", "type": "notice", "label": "注意事項", "body": "確認"},
                {"key": "my_number", "type": "individual_number", "label": "個人番号"},
                {"key": "corp", "type": "corporate_number", "label": "法人番号"},
                {"key": "bank", "type": "bank_account", "label": "口座"},
                {"key": "files", "type": "file", "label": "添付"},
                {"key": "note", "type": "textarea", "label": "備考"},
                {"key": "short", "type": "text", "label": "一言"},
                {
                    "key": "children",
                    "type": "repeat",
                    "label": "児童",
                    "item_label": "児童",
                    "fields": [
                        {"key": "child_name", "type": "text", "label": "氏名"},
                        {"key": "child_birth", "type": "date", "label": "生年月日"},
                        {
                            "key": "child_kind",
                            "type": "select",
                            "label": "続柄",
                            "options": OPTIONS,
                        },
                        {"key": "child_same", "type": "yesno", "label": "同居"},
                        {"key": "child_income", "type": "money", "label": "収入"},
                    ],
                },
                {
                    "key": "cars",
                    "type": "repeat",
                    "label": "車両",
                    "fields": [{"key": "plate", "type": "text", "label": "番号"}],
                },
            ],
        }
    ],
}

BANK = {
    "bank_code": "0001",
    "bank_name": "みずほ",
    "branch_code": "001",
    "branch_name": "東京営業部",
    "account_type": "普通",
    "account_number": "1234567",
    "holder_kana": "ﾔﾏﾀﾞ ﾊﾅｺ",
}

ANSWERS = [
    # Everything answered as the form stores it; characters CP932 holds twice (髙 﨑 ① ∵ № ⅰ)
    # and the JIS X 0208 code points it maps (〜 −); quoting and formula cells.
    {
        "name": {
            "family": "髙﨑",
            "given": "花子",
            "family_kana": "タカサキ",
            "given_kana": "ハナコ",
        },
        "kana": "タカサキ　ハナコ",
        "birth": "1989-01-07",
        "zip": "1000001",
        "address": "東京都千代田区千代田1−1 ①号室",
        "phone": "0312345678",
        "email": "hanako@example.jp",
        "count": 3,
        "rate": "12.50",
        "income": 1500000,
        "house": "a",
        "house2": "b",
        "needs": ["a", "b"],
        "agree": True,
        "notice": True,
        "my_number": MY_NUMBER,
        "corp": "7000012050002",
        "bank": BANK,
        "files": [{"attachment": "u1", "name": "住民票.pdf", "size": 123456}],
        "note": '1行目, "引用"\r\n2行目〜∵№ⅰ',
        "short": "=SUM(A1:A9)",
        "children": [
            {
                "child_name": "髙﨑一郎",
                "child_birth": "2019-05-01",
                "child_kind": "a",
                "child_same": True,
                "child_income": 0,
            },
            {
                "child_name": "髙﨑二郎",
                "child_birth": "2020-02-29",
                "child_kind": "b",
                "child_same": False,
                "child_income": 120000,
            },
            {"child_name": "髙﨑三郎", "child_birth": "2021-12-31"},
        ],
        "cars": [{"plate": "品川 300 あ 12-34"}],
    },
    # Unanswered: empty strings, None, empty lists and dicts, missing keys; no or false.
    {
        "name": {"family": "", "given": "", "family_kana": "", "given_kana": ""},
        "kana": "",
        "birth": None,
        "zip": "",
        "count": 0,
        "income": None,
        "house": "",
        "needs": [],
        "agree": False,
        "my_number": "",
        "bank": {},
        "files": [],
        "note": "",
        "short": "　",
        "children": [],
    },
    # Stored values that do not fit the definition (older versions, imports): kept readable.
    {
        "name": "山田花子",
        "kana": " ",
        "birth": {"year": 2000},
        "zip": "12",
        "count": True,
        "rate": 1.5,
        "income": 1500.5,
        "house": "zz",
        "house2": " ",
        "needs": ["b", "zz"],
        "agree": "0",
        "my_number": "1234",
        "corp": 12,
        "bank": {"bank_name": "ゆうちょ"},
        "files": [{"name": "a.png"}],
        "note": ["一", "二"],
        "short": "-12",
        "children": ["not an item", {"child_name": "-x", "child_same": 0}, None],
        "cars": "not a list",
    },
    # Characters CP932 cannot hold (reported and replaced in CP932), formula starts.
    {
        "name": {"family": "𠮷田", "given": "㐂子", "family_kana": "ヨシダ", "given_kana": ""},
        "address": "\ue000外字\x80",
        "note": "😀 +81 @home",
        "short": "　＠x",
        "income": 0,
        "agree": None,
        "children": [{"child_name": "𠮷田太郎", "child_kind": "a"}],
        "cars": [{"plate": "\tTAB"}, {"plate": "+3.5"}],
    },
    # Nothing but the required name.
    {"name": {"family": "佐藤", "given": "一", "family_kana": "サトウ", "given_kana": "ハジメ"}},
]

APPLICANT_NAMES = ["髙﨑　花子", "", "山田　花子", "𠮷田　㐂子", '=佐藤, "一"']
STATUSES = ["received", "in_progress", "returned", "completed", "withdrawn"]
CHANNELS = ["portal", "mynaportal", "counter", "paper", "portal"]
BASE = dt.datetime(2024, 4, 24, 9, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
def exported(municipality, staff):
    """The procedure and its five applications, fixed in every column the export reads."""
    procedure = make_procedure(municipality, "every", "kodomo", "こども家庭課", EVERY_TYPE_FORM)
    make_procedure(municipality, "other", "suido", "水道課")  # a second department
    for i, values in enumerate(ANSWERS):
        # Stored answers need not fit today's form (マイナポータル imports, older versions), but
        # only a complete form can be submitted: submit valid answers, then store the odd ones.
        application = submit(procedure, valid_answers(procedure, seed=i))
        AnswerRevision.objects.filter(application=application).update(answers=values)
        Application.objects.filter(pk=application.pk).update(
            answers=values,
            receipt_number=f"2024-{i + 1:06d}",
            submitted_at=BASE + dt.timedelta(days=i, hours=15 * i),
            applicant_name=APPLICANT_NAMES[i],
            status=STATUSES[i],
            channel=CHANNELS[i],
        )
    user = staff("admin1", municipality, role="admin")
    return procedure, user


def run_export(procedure, user, file_format, encoding, *, with_procedure=True) -> ExportJob:
    job = ExportJob.objects.create(
        municipality=procedure.municipality,
        requested_by=user,
        procedure=procedure if with_procedure else None,
        format=file_format,
        encoding=encoding,
    )
    runner.run(job.pk)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE, job.error
    return job


def check(name: str, data: bytes) -> None:
    path = FIXTURES / name
    if WRITE:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    assert data == path.read_bytes()


@pytest.mark.parametrize(
    ("encoding", "with_procedure", "name"),
    [
        ("utf-8-sig", True, "every_type_utf8.csv"),
        ("cp932", True, "every_type_cp932.csv"),
        ("cp932", False, "fixed_columns_cp932.csv"),
    ],
)
def test_csv_bytes_unchanged(exported, encoding, with_procedure, name):
    procedure, user = exported
    job = run_export(procedure, user, "csv", encoding, with_procedure=with_procedure)
    with job.file.open("rb") as f:
        check(name, f.read())
    report = json.dumps(job.report, ensure_ascii=False, indent=1, sort_keys=True).encode()
    check(name.replace(".csv", ".report.json"), report)
    assert (job.done_rows, job.total_rows) == (5, 5)


def test_xlsx_cells_unchanged(exported):
    procedure, user = exported
    job = run_export(procedure, user, "xlsx", "utf-8-sig")
    with job.file.open("rb") as f:
        sheet = load_workbook(io.BytesIO(f.read()), read_only=True).active
        rows = [["" if v is None else v for v in r] for r in sheet.iter_rows(values_only=True)]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    check("every_type_xlsx.csv", text.getvalue().encode())


def test_characters_outside_cp932_are_found_in_every_row_of_a_block():
    headers = ["受付番号", "申請者", "備考"]
    rows = [[f"2024-{i:06d}", "山田　花子", "\x1e\x1f" * (i % 3)] for i in range(50)]
    for index, name in [(0, "𠮷田"), (3, "㐂子"), (17, "😀"), (49, "\ue000")]:
        rows[index][1 + index % 2] = name
    report = runner.Report()
    fixed = runner._cp932_rows([list(r) for r in rows], headers, report)
    expected_report = runner.Report()
    expected = [runner._cp932_row(r, headers, r[0], expected_report) for r in rows]
    assert fixed == expected
    assert report.as_json() == expected_report.as_json()
    assert [e["receipt_number"] for e in report.as_json()] == [
        "2024-000000",
        "2024-000003",
        "2024-000017",
        "2024-000049",
    ]


def test_rows_read_by_the_database_as_read_in_python(exported):
    """On PostgreSQL the database writes the 受付日時 as local text, the answers as JSON text
    and the repeat groups' item counts (`runner._in_sql`): the same rows and counts as read
    and worked out in Python, for every odd stored value (a repeat that is not a list,
    items that are not dicts)."""
    import tempfile

    from madoguchi.exports import columns as cols

    procedure, user = exported
    job = ExportJob.objects.create(
        municipality=procedure.municipality, requested_by=user, procedure=procedure
    )
    qs = runner.export_queryset(job)
    repeats = [f.key for f in cols.repeat_fields(procedure.current_version.form)]
    fields = (*runner.ROW_FIELDS, "answers")
    sql_qs, sql_fields, sql = runner._in_sql(qs, fields, repeats)
    with tempfile.TemporaryFile() as by_sql, tempfile.TemporaryFile() as by_python:
        read = runner._spool(sql_qs, sql_fields, repeats, by_sql, job.pk, sql)
        assert read == runner._spool(qs, fields, repeats, by_python, job.pk, False)
        assert read == (5, {"children": 3, "cars": 2})
        rows = [row for block in runner._spooled_blocks(by_sql) for row in block]
        expected = [row for block in runner._spooled_blocks(by_python) for row in block]
    assert [row[:6] for row in rows] == [row[:6] for row in expected]
    answers = [json.loads(row[6]) if sql else row[6] for row in rows]
    assert answers == [row[6] for row in expected] == list(reversed(ANSWERS))
