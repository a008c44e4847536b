"""Fixtures for file linkage: a procedure whose form has the fields a core system needs
(性別, 生年月日, yes/no, カナ, free text), cases with fixed 受付番号 and dates (so files are
byte-for-byte reproducible), and layouts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from madoguchi.applications import services
from madoguchi.applications.models import Application
from madoguchi.catalog.models import FormVersion, Procedure
from madoguchi.linkage.models import Layout
from madoguchi.tenants.models import Department
from tests.conftest import make_staff

TOKYO = ZoneInfo("Asia/Tokyo")

FORM = {
    "title": "児童手当 認定請求",
    "steps": [
        {
            "key": "applicant",
            "title": "請求者",
            "fields": [
                {"key": "applicant_name", "type": "name", "label": "氏名", "required": True},
                {"key": "email", "type": "email", "label": "メールアドレス"},
                {
                    "key": "gender",
                    "type": "radio",
                    "label": "性別",
                    "options": [
                        {"value": "male", "label": "男性"},
                        {"value": "female", "label": "女性"},
                    ],
                },
                {"key": "birth_date", "type": "date", "label": "生年月日"},
                {"key": "has_spouse", "type": "yesno", "label": "配偶者の有無"},
                {"key": "kana", "type": "text", "label": "カナ"},
                {"key": "note", "type": "text", "label": "備考"},
            ],
        }
    ],
}


def make_linkage_procedure(municipality, slug="jidou-teate", department_code="kodomo"):
    department, _ = Department.objects.get_or_create(
        municipality=municipality, code=department_code, defaults={"name": "こども家庭課"}
    )
    procedure = Procedure.objects.create(
        municipality=municipality,
        slug=slug,
        name="児童手当",
        reading="じどうてあて",
        category="other",
    )
    procedure.departments.add(department)
    FormVersion.new_draft(procedure, schema=FORM).publish()
    procedure.refresh_from_db()
    return procedure


def make_application(
    procedure,
    receipt_number,
    *,
    family,
    given,
    family_kana="ヤマダ",
    given_kana="ハナコ",
    submitted=(2024, 5, 1, 9, 30),
    email="a@example.jp",
    **answers,
):
    application, _ = services.start_draft(procedure)
    values = {
        "applicant_name": {
            "family": family,
            "given": given,
            "family_kana": family_kana,
            "given_kana": given_kana,
        },
        "email": email,
        **answers,
    }
    services.save_step(
        application, "applicant", raw={}, answers=values, completed=True, step_index=0
    )
    services.submit(application, base_url="http://testserver")
    Application.objects.filter(pk=application.pk).update(
        receipt_number=receipt_number,
        submitted_at=datetime(*submitted, tzinfo=TOKYO),
    )
    application.refresh_from_db()
    return application


GOLDEN_CASES = [
    # receipt, family, given, kana (for the kana field), gender, birth, spouse, note
    ("R-0001", "山田", "花子", "ﾔﾏﾀﾞ ﾊﾅｺ", "female", "2019-05-01", True, "髙橋方①"),
    ("R-0002", "𠮷田", "太郎", "ﾖｼﾀﾞ ﾀﾛｳ", "male", "1989-01-07", False, "𠮷野家"),
    ("R-0003", "佐藤", "一郎", "ｻﾄｳ", "male", "1989-01-08", False, "〜まで"),
    ("R-0004", "鈴木", "次郎", "ｽｽﾞｷ", "male", "1926-12-25", True, 'カンマ,と"引用"'),
]


@pytest.fixture
def linkage_procedure(municipality):
    return make_linkage_procedure(municipality)


@pytest.fixture
def golden_applications(linkage_procedure):
    cases = []
    for day, (receipt, family, given, kana, gender, birth, spouse, note) in enumerate(
        GOLDEN_CASES, start=1
    ):
        cases.append(
            make_application(
                linkage_procedure,
                receipt,
                family=family,
                given=given,
                submitted=(2024, 5, day, 9, 30),
                gender=gender,
                birth_date=birth,
                has_spouse=spouse,
                kana=kana,
                note=note,
            )
        )
    return cases


CSV_COLUMNS = [
    {"header": "受付番号", "source": "receipt_number"},
    {"header": "受付日", "source": "submitted_at", "date": "yyyymmdd"},
    {"header": "氏名", "source": "applicant_name"},
    {"header": "カナ", "source": "kana"},
    {"header": "性別", "source": "gender", "map": {"male": "1", "female": "2"}},
    {"header": "生年月日", "source": "birth_date", "date": "wareki"},
    {"header": "配偶者", "source": "has_spouse", "map": {"yes": "1", "no": "0"}},
    {"header": "備考", "source": "note"},
]

FIXED_COLUMNS = [
    {"header": "レコード区分", "source": "const:1", "width": 1},
    {"header": "受付番号", "source": "receipt_number", "width": 8},
    {"header": "受付日", "source": "submitted_at", "width": 7, "date": "wareki_digit"},
    {"header": "氏名", "source": "applicant_name", "width": 12, "pad": "zenkaku"},
    {"header": "カナ", "source": "kana", "width": 12},
    {"header": "性別", "source": "gender", "width": 1, "map": {"male": "1", "female": "2"}},
    {"header": "生年月日", "source": "birth_date", "width": 7, "date": "wareki"},
    {"header": "連番", "source": "const:42", "width": 5, "align": "right", "pad": "zero"},
    {"header": "備考", "source": "note", "width": 10, "pad": "zenkaku", "align": "right"},
]


@pytest.fixture
def make_layout(linkage_procedure):
    def make(**fields):
        defaults = {
            "municipality": linkage_procedure.municipality,
            "procedure": linkage_procedure,
            "name": fields.pop("name", "児童手当CSV"),
            "columns": CSV_COLUMNS,
        }
        defaults.update(fields)
        return Layout.objects.create(**defaults)

    return make


@pytest.fixture
def admin_user(municipality):
    return make_staff("linkage_admin", municipality, role="admin")


@pytest.fixture
def handler(municipality, linkage_procedure):
    return make_staff("linkage_handler", municipality, "kodomo")
