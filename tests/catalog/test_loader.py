"""Loading the standard templates into a municipality: create, reload, update, refuse."""

import shutil

import pytest
import yaml
from django.db import DatabaseError

from madoguchi.catalog import loader
from madoguchi.catalog.loader import (
    TEMPLATES_DIR,
    TemplateError,
    load_standard_templates,
    load_template_file,
)
from madoguchi.catalog.models import FormVersion, Procedure, PublishedVersionIsImmutable
from madoguchi.tenants.models import Department

ALL_KEYS = sorted(p.stem for p in TEMPLATES_DIR.glob("*.yaml"))
COUNT = len(ALL_KEYS)
STANDARD_DEPARTMENTS = sorted(loader.load_standard_departments())


@pytest.fixture
def template_dir(tmp_path):
    """A writable copy of the shipped templates."""
    directory = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, directory)
    return directory


def edit_template(directory, key, change):
    path = directory / f"{key}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def counts():
    return (Procedure.objects.count(), FormVersion.objects.count(), Department.objects.count())


# -- first load --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_load_creates_every_procedure_with_published_v1(municipality):
    report = load_standard_templates(municipality)

    assert report.ok
    assert sorted(r.key for r in report.created) == ALL_KEYS
    procedures = Procedure.objects.for_municipality(municipality)
    assert procedures.count() == COUNT
    for procedure in procedures:
        assert procedure.template_key == procedure.slug
        assert procedure.is_open()
        version = procedure.current_version
        assert version.number == 1
        assert version.status == FormVersion.Status.PUBLISHED
        assert version.published_at is not None
        assert version.source_template == procedure.slug
        assert version.form.title  # the stored schema parses
        assert procedure.versions.count() == 1

    suido = procedures.get(slug="suido_shiyou_kaishi")
    assert sorted(d.code for d in suido.departments.all()) == ["gesuido", "suido"]
    assert suido.category == "moving"
    assert suido.identity_level == "none"
    jidou = procedures.get(slug="jidou_teate_nintei")
    assert jidou.name == "児童手当等の受給資格及び児童手当の額についての認定請求"
    assert jidou.identity_level == "email"
    assert jidou.life_events == ["birth", "childcare", "moving"]
    assert [d.name for d in jidou.departments.all()] == ["こども家庭課"]
    assert procedures.get(slug="youkaigo_nintei").allows_proxy is True
    assert procedures.get(slug="sodai_gomi").fee == "品目により200円〜"

    # every standard department is used by some template, and each is created once
    assert (
        sorted(Department.objects.for_municipality(municipality).values_list("code", flat=True))
        == STANDARD_DEPARTMENTS
    )
    assert len(report.departments_created) == len(STANDARD_DEPARTMENTS)


@pytest.mark.django_db
def test_existing_departments_are_used_and_not_renamed(municipality):
    Department.objects.create(municipality=municipality, code="suido", name="上下水道局 給水課")
    load_standard_templates(municipality, keys=["suido_shiyou_kaishi"])
    suido = Procedure.objects.get(slug="suido_shiyou_kaishi")
    assert sorted(d.name for d in suido.departments.all()) == ["上下水道局 給水課", "下水道課"]


@pytest.mark.django_db
def test_load_selected_keys_only(municipality):
    report = load_standard_templates(municipality, keys=["sodai_gomi", "inu_touroku"])
    assert [r.key for r in report.results] == ["sodai_gomi", "inu_touroku"]
    assert Procedure.objects.count() == 2


@pytest.mark.django_db
def test_progress_lines_and_summary(municipality):
    import io

    out = io.StringIO()
    load_standard_templates(municipality, keys=["sodai_gomi"], stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        "千代田区（131016）に標準様式を読み込みます。",
        "[新規作成] sodai_gomi（粗大ごみ収集の申込）: 手続を作成し、第1版を公開しました（担当課: 清掃課）。",
        "千代田区（131016）: 新規作成 1件、公開 0件、下書き作成 0件、変更なし 0件、失敗 0件。"
        "担当課を作成: seiso（清掃課）。",
    ]


# -- reload ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reload_is_idempotent(municipality):
    load_standard_templates(municipality)
    before = counts()
    versions = list(FormVersion.objects.values_list("pk", "number", "status", "schema"))

    report = load_standard_templates(municipality)

    assert report.ok
    assert not report.changed
    assert len(report.unchanged) == COUNT
    assert report.result("jidou_teate_nintei").message == "公開中の第1版と同じです。"
    assert counts() == before
    assert list(FormVersion.objects.values_list("pk", "number", "status", "schema")) == versions


@pytest.mark.django_db
def test_reload_keeps_municipal_edits_to_procedure_metadata(municipality):
    load_standard_templates(municipality)
    procedure = Procedure.objects.get(slug="inu_touroku")
    procedure.name = "飼い犬の登録"
    procedure.fee = "登録手数料 3,000円"
    procedure.is_published = False
    procedure.save()
    procedure.departments.set([Department.objects.get(code="seiso")])
    department = Department.objects.get(code="kankyo")
    department.name = "生活衛生課"
    department.save()

    report = load_standard_templates(municipality)

    assert not report.changed
    procedure.refresh_from_db()
    assert procedure.name == "飼い犬の登録"
    assert procedure.fee == "登録手数料 3,000円"
    assert procedure.is_published is False
    assert [d.code for d in procedure.departments.all()] == ["seiso"]
    assert Department.objects.get(code="kankyo").name == "生活衛生課"


@pytest.mark.django_db
def test_changed_template_creates_draft_v2_and_leaves_v1_untouched(municipality, template_dir):
    load_standard_templates(municipality, directory=template_dir)
    procedure = Procedure.objects.get(slug="sodai_gomi")
    v1 = procedure.current_version
    v1_schema = v1.schema

    def change(data):
        data["form"]["steps"][0]["fields"][0]["help"] = "申込者ご本人の氏名を入力してください。"
        data["procedure"]["summary"] = "変更された概要"

    edit_template(template_dir, "sodai_gomi", change)
    report = load_standard_templates(municipality, directory=template_dir)

    assert report.ok
    assert [r.key for r in report.drafts] == ["sodai_gomi"]
    assert len(report.unchanged) == COUNT - 1
    assert report.result("sodai_gomi").message == (
        "標準様式が更新されています。下書きの第2版を作成しました"
        "（公開中の第1版はそのままです。内容を確認して公開してください）。"
    )
    procedure.refresh_from_db()
    assert procedure.current_version == v1
    # The procedure metadata is not overwritten.
    assert procedure.summary == "家具や自転車などの粗大ごみの戸別収集を申し込みます。"
    v1.refresh_from_db()
    assert v1.status == FormVersion.Status.PUBLISHED
    assert v1.schema == v1_schema
    v2 = procedure.versions.get(number=2)
    assert v2.status == FormVersion.Status.DRAFT
    assert v2.source_template == "sodai_gomi"
    assert v2.form.field("applicant_name").help == "申込者ご本人の氏名を入力してください。"

    # Loading again does not make a third version.
    again = load_standard_templates(municipality, directory=template_dir)
    assert not again.changed
    assert again.result("sodai_gomi").message == (
        "標準様式の新しい内容は下書きの第2版として作成済みです（公開中の第1版はそのままです）。"
    )
    assert procedure.versions.count() == 2

    # --publish publishes the existing draft rather than creating another one.
    published = load_standard_templates(municipality, directory=template_dir, publish=True)
    assert [r.key for r in published.published] == ["sodai_gomi"]
    assert published.result("sodai_gomi").message == (
        "標準様式の内容を第2版として公開しました（第1版に代わって公開中になります）。"
    )
    procedure.refresh_from_db()
    assert procedure.current_version.number == 2
    assert procedure.versions.count() == 2
    v1.refresh_from_db()
    assert (v1.status, v1.schema) == (FormVersion.Status.PUBLISHED, v1_schema)


@pytest.mark.django_db
def test_publish_option_publishes_a_changed_template_at_once(municipality, template_dir):
    load_standard_templates(municipality, directory=template_dir)
    edit_template(
        template_dir, "inu_touroku", lambda d: d["form"].update(title="犬の登録申請書（新）")
    )

    report = load_standard_templates(
        municipality, directory=template_dir, keys=["inu_touroku"], publish=True
    )

    assert [r.key for r in report.published] == ["inu_touroku"]
    procedure = Procedure.objects.get(slug="inu_touroku")
    assert procedure.current_version.number == 2
    assert procedure.current_version.form.title == "犬の登録申請書（新）"
    assert procedure.versions.get(number=1).status == FormVersion.Status.PUBLISHED


@pytest.mark.django_db
def test_version_published_by_the_municipality_is_kept(municipality):
    load_standard_templates(municipality)
    procedure = Procedure.objects.get(slug="sodai_gomi")
    draft = FormVersion.new_draft(procedure)
    draft.schema = {**draft.schema, "intro": "当市独自の説明"}
    draft.save()
    draft.publish()

    report = load_standard_templates(municipality, keys=["sodai_gomi"], publish=True)

    assert report.result("sodai_gomi").status == "unchanged"
    procedure.refresh_from_db()
    assert procedure.current_version.number == 2
    assert procedure.current_version.schema["intro"] == "当市独自の説明"
    assert procedure.versions.count() == 2


@pytest.mark.django_db
def test_procedure_with_same_slug_not_from_template_is_refused(municipality):
    Procedure.objects.create(
        municipality=municipality,
        slug="sodai_gomi",
        name="粗大ごみ",
        reading="そだいごみ",
        category="other",
    )
    report = load_standard_templates(municipality, keys=["sodai_gomi", "inu_touroku"])
    assert [r.key for r in report.failed] == ["sodai_gomi"]
    assert report.failed[0].message == (
        "標準様式「sodai_gomi」: 識別子「sodai_gomi」の手続「粗大ごみ」がすでにあり、"
        "標準様式から作成されたものではありません。この手続には読み込みません。"
    )
    assert [r.key for r in report.created] == ["inu_touroku"]


@pytest.mark.django_db
def test_published_form_version_cannot_be_modified(municipality):
    load_standard_templates(municipality, keys=["jidou_teate_nintei"])
    version = Procedure.objects.get(slug="jidou_teate_nintei").current_version
    version.schema = {**version.schema, "title": "書き換え"}
    with pytest.raises(PublishedVersionIsImmutable):
        version.save()
    with pytest.raises(PublishedVersionIsImmutable):
        FormVersion.objects.get(pk=version.pk).delete()
    assert FormVersion.objects.get(pk=version.pk).schema["title"] == "児童手当 認定請求書"


@pytest.mark.django_db
def test_each_template_is_all_or_nothing(municipality, monkeypatch):
    """A database failure while loading one template leaves nothing of it behind (清掃課 is
    used by 粗大ごみ only, so it must not be created either)."""
    real_publish = FormVersion.publish

    def failing_publish(self, user=None):
        if self.procedure.slug == "sodai_gomi":
            raise DatabaseError("disk full")
        return real_publish(self, user)

    monkeypatch.setattr(FormVersion, "publish", failing_publish)
    report = load_standard_templates(municipality)

    assert [r.key for r in report.failed] == ["sodai_gomi"]
    assert report.failed[0].message == (
        "標準様式「sodai_gomi」: データベースに保存できません（disk full）。"
    )
    assert Procedure.objects.count() == COUNT - 1
    assert not Procedure.objects.filter(slug="sodai_gomi").exists()
    assert not Department.objects.filter(code="seiso").exists()
    assert not any("seiso" in d for d in report.departments_created)

    monkeypatch.setattr(FormVersion, "publish", real_publish)
    retry = load_standard_templates(municipality)
    assert [r.key for r in retry.created] == ["sodai_gomi"]
    assert len(retry.unchanged) == COUNT - 1


# -- broken templates --------------------------------------------------------------------------

FIELD_TYPES = (
    "text, textarea, name, katakana, date, postal_code, address, phone, email, integer, "
    "decimal, money, select, radio, checkboxes, yesno, individual_number, corporate_number, "
    "bank_account, file, repeat, notice"
)
BROKEN_FORM_CASES = {
    "unknown_type": (
        lambda d: d["form"]["steps"][3]["fields"][0]["fields"][1].update(type="dat"),
        "標準様式「unknown_type」の項目「child_birth_date」: 項目の種類「dat」は使えません"
        f"（使える種類: {FIELD_TYPES}）。",
    ),
    "condition_later_field": (
        lambda d: d["form"]["steps"][1]["fields"][0].update(
            visible_if={"field": "claimant_pension", "equals": "kosei"}
        ),
        "標準様式「condition_later_field」の項目「claimant_name」: visible_if が参照している項目"
        "「claimant_pension」はこの項目より後にあります。条件には、この項目より前にある項目だけを"
        "使えます。",
    ),
    "condition_unknown_field": (
        lambda d: d["form"]["steps"][2]["fields"][1].update(
            visible_if={"field": "has_wife", "equals": True}
        ),
        "標準様式「condition_unknown_field」の項目「spouse_name」: visible_if が参照している項目"
        "「has_wife」はありません。",
    ),
    "condition_malformed": (
        lambda d: d["form"]["steps"][2]["fields"][1].update(
            visible_if={"field": "has_spouse", "is": True}
        ),
        "標準様式「condition_malformed」の項目「spouse_name」: visible_if の書き方が正しくありません"
        "（「is」は使えません。使えるのは field, equals, in, filled, all, any, not です）。",
    ),
    "condition_bad_option": (
        lambda d: d["form"]["steps"][1]["fields"][9].update(
            visible_if={"field": "claimant_occupation", "equals": "koumuin"}
        ),
        "標準様式「condition_bad_option」の項目「public_servant_notice」: visible_if の値「koumuin」"
        "は項目「claimant_occupation」の選択肢にありません（選択肢: employee, public_servant, "
        "part_time, self_employed, unemployed, other）。",
    ),
    "duplicate_field_key": (
        lambda d: d["form"]["steps"][2]["fields"][2].update(key="spouse_name"),
        "標準様式「duplicate_field_key」の項目「spouse_name」: 識別子「spouse_name」が重複しています"
        "（ステップ「spouse」の項目「配偶者の氏名」と同じです）。識別子は様式全体で一意にしてください。",
    ),
    "missing_label": (
        lambda d: d["form"]["steps"][0]["fields"][0].pop("label"),
        "標準様式「missing_label」の項目「requirements_notice」: 「label」（項目名）がありません。",
    ),
}
BROKEN_PROCEDURE_CASES = {
    "unknown_department": (
        lambda d: d["procedure"].update(departments=["kodomo", "somu"]),
        "標準様式「unknown_department」の手続情報「departments」: 担当課コード「somu」は登録されて"
        f"いません（使える担当課コード: {', '.join(STANDARD_DEPARTMENTS)}）。",
    ),
    "bad_category": (
        lambda d: d["procedure"].update(category="kosodate"),
        "標準様式「bad_category」の手続情報「category」: 分類「kosodate」は使えません（使える値: "
        "childcare, nursing_care, disaster, moving, other）。",
    ),
    "bad_life_event": (
        lambda d: d["procedure"].update(life_events=["birth", "marriage"]),
        "標準様式「bad_life_event」の手続情報「life_events」: ライフイベント「marriage」は使えません"
        "（使える値: birth, childcare, moving, nursing_care, disaster, daily_life, pets, death, work）。",
    ),
    "bad_identity_level": (
        lambda d: d["procedure"].update(identity_level="mynumber"),
        "標準様式「bad_identity_level」の手続情報「identity_level」: 本人確認の水準「mynumber」は"
        "使えません（使える値: none, email, jpki）。",
    ),
    "unknown_procedure_key": (
        lambda d: d["procedure"].update(open_from="2025-04-01"),
        "標準様式「unknown_procedure_key」の手続情報「open_from」: この設定はありません（手続情報で"
        "使える設定: name, reading, category, life_events, keywords, summary, description, "
        "eligibility, what_you_need, duration, processing_time, fee, identity_level, allows_proxy, "
        "departments, required_attachments, retention_years, target_days）。",
    ),
    "missing_category": (
        lambda d: d["procedure"].pop("category"),
        "標準様式「missing_category」の手続情報「category」: 必ず指定してください。",
    ),
    "reading_not_hiragana": (
        lambda d: d["procedure"].update(reading="ジドウ手当"),
        "標準様式「reading_not_hiragana」の手続情報「reading」: 手続名の読みは、ひらがなで書いて"
        "ください（「ジドウ手当」は使えません）。",
    ),
    "bad_retention": (
        lambda d: d["procedure"].update(retention_years="5年"),
        "標準様式「bad_retention」の手続情報「retention_years」: 保存期間（年）は1から100までの"
        "整数で指定してください。",
    ),
    "bad_target_days": (
        lambda d: d["procedure"].update(target_days=0),
        "標準様式「bad_target_days」の手続情報「target_days」: 処理期間の目標（日）は1から365までの"
        "整数で指定してください。",
    ),
}


def write_broken(directory, name, change):
    data = yaml.safe_load((TEMPLATES_DIR / "jidou_teate_nintei.yaml").read_text(encoding="utf-8"))
    data["key"] = name
    change(data)
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted({**BROKEN_FORM_CASES, **BROKEN_PROCEDURE_CASES}))
def test_broken_template_is_refused_with_a_precise_message(tmp_path, name):
    change, message = {**BROKEN_FORM_CASES, **BROKEN_PROCEDURE_CASES}[name]
    path = write_broken(tmp_path, name, change)
    with pytest.raises(TemplateError) as caught:
        load_template_file(path)
    assert str(caught.value) == message
    assert caught.value.template == name


def test_form_errors_keep_the_field_and_problem(tmp_path):
    change, _message = BROKEN_FORM_CASES["unknown_type"]
    with pytest.raises(TemplateError) as caught:
        load_template_file(write_broken(tmp_path, "unknown_type", change))
    assert caught.value.field == "child_birth_date"
    assert caught.value.problem.startswith("項目の種類「dat」は使えません")


def test_duplicate_yaml_keys_are_refused(tmp_path):
    path = tmp_path / "dup_yaml.yaml"
    path.write_text(
        "key: dup_yaml\nprocedure:\n  name: 重複\n  name: 重複2\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as caught:
        load_template_file(path)
    assert str(caught.value) == (
        "標準様式「dup_yaml」: YAML の書き方が正しくありません"
        "（4行目: 「name」が同じ対応表の中で重複しています）。"
    )


def test_invalid_yaml_and_key_mismatch_are_refused(tmp_path):
    bad = tmp_path / "bad_yaml.yaml"
    bad.write_text("key: bad_yaml\nprocedure: [\n", encoding="utf-8")
    with pytest.raises(
        TemplateError, match=r"^標準様式「bad_yaml」: YAML の書き方が正しくありません（"
    ):
        load_template_file(bad)

    other = write_broken(tmp_path, "renamed", lambda d: None)
    moved = other.rename(tmp_path / "other_name.yaml")
    with pytest.raises(TemplateError) as caught:
        load_template_file(moved)
    assert str(caught.value) == (
        "標準様式「other_name」: 識別子（key）「renamed」がファイル名「other_name.yaml」と一致しません。"
        "ファイル名を「renamed.yaml」にしてください。"
    )


@pytest.mark.django_db
def test_bad_templates_are_reported_and_the_others_still_load(municipality, template_dir):
    for name in ("unknown_type", "condition_malformed", "duplicate_field_key"):
        write_broken(template_dir, name, BROKEN_FORM_CASES[name][0])
    for name in ("unknown_department", "bad_category"):
        write_broken(template_dir, name, BROKEN_PROCEDURE_CASES[name][0])

    report = load_standard_templates(municipality, directory=template_dir)

    assert not report.ok
    failed = {r.key: r.message for r in report.failed}
    assert failed == {
        "bad_category": BROKEN_PROCEDURE_CASES["bad_category"][1],
        "condition_malformed": BROKEN_FORM_CASES["condition_malformed"][1],
        "duplicate_field_key": BROKEN_FORM_CASES["duplicate_field_key"][1],
        "unknown_department": BROKEN_PROCEDURE_CASES["unknown_department"][1],
        "unknown_type": BROKEN_FORM_CASES["unknown_type"][1],
    }
    assert sorted(r.key for r in report.created) == ALL_KEYS
    assert Procedure.objects.count() == COUNT
    assert not Procedure.objects.filter(slug__in=failed).exists()


@pytest.mark.django_db
def test_unknown_key_is_reported(municipality):
    report = load_standard_templates(municipality, keys=["sodai_gomi", "gomi"])
    assert [r.key for r in report.created] == ["sodai_gomi"]
    assert report.failed[0].message.startswith("標準様式「gomi」はありません（ある標準様式: ")


@pytest.mark.django_db
def test_templates_directory_can_be_overridden(municipality, template_dir, monkeypatch):
    monkeypatch.setattr(loader, "TEMPLATES_DIR", template_dir)
    (template_dir / "inu_touroku.yaml").unlink()
    report = load_standard_templates(municipality)
    assert len(report.created) == COUNT - 1
