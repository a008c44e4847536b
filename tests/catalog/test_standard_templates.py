"""The shipped standard templates (標準様式): every one parses and says what it should."""

import pytest

from madoguchi.catalog.loader import (
    TEMPLATES_DIR,
    available_template_keys,
    load_standard_departments,
    load_template_file,
)
from madoguchi.formengine.schema import parse_form

# key: (category, identity_level, departments, allows_proxy). The table in
# docs/standard-templates.md says why each one is so; test_docs_table_matches keeps them equal.
EXPECTED = {
    # 子育て (別冊 b ア)
    "jidou_teate_nintei": ("childcare", "email", ("kodomo",), False),
    "jidou_teate_gaku_kaitei": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_henkou": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_shoumetsu": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_mishiharai": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_kifu": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_kifu_henkou": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_kyushokuhi": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_kyushokuhi_henkou": ("childcare", "jpki", ("kodomo",), False),
    "jidou_teate_genkyo": ("childcare", "email", ("kodomo",), False),
    "kyouiku_hoiku_kyufu_nintei": ("childcare", "jpki", ("hoiku",), False),
    "hoiku_riyou_moushikomi": ("childcare", "email", ("hoiku",), False),
    "hoiku_genkyo": ("childcare", "email", ("hoiku",), False),
    "jidou_fuyou_teate_genkyo": ("childcare", "jpki", ("kodomo",), False),
    "ninshin_todoke": ("childcare", "email", ("boshi",), False),
    # 介護 (別冊 b イ)
    "youkaigo_nintei": ("nursing_care", "email", ("kaigo",), True),
    "kyotaku_service_keikaku": ("nursing_care", "email", ("kaigo",), True),
    "futan_wariai_saikoufu": ("nursing_care", "email", ("kaigo",), True),
    "hihokenshasho_saikoufu": ("nursing_care", "email", ("kaigo",), True),
    "kougaku_kaigo_service": ("nursing_care", "jpki", ("kaigo",), False),
    "futan_gendogaku_nintei": ("nursing_care", "jpki", ("kaigo",), True),
    "fukushi_yougu_kounyu": ("nursing_care", "jpki", ("kaigo",), True),
    "jutaku_kaishu": ("nursing_care", "jpki", ("kaigo",), True),
    "tenkyo_youkaigo_nintei": ("nursing_care", "jpki", ("kaigo",), True),
    # 被災者支援 (別冊 b ウ)
    "risai_shoumei": ("disaster", "none", ("bosai",), False),
    "oukyu_kasetsu_jutaku": ("disaster", "email", ("jutaku", "bosai"), False),
    "oukyu_shuuri": ("disaster", "email", ("jutaku", "bosai"), False),
    "shougaibutsu_jokyo": ("disaster", "email", ("bosai",), False),
    "saigai_chouikin": ("disaster", "email", ("fukushi",), False),
    "saigai_shougai_mimaikin": ("disaster", "email", ("fukushi",), False),
    "saigai_engo_shikin": ("disaster", "email", ("fukushi",), False),
    "seikatsu_saiken_shienkin": ("disaster", "email", ("fukushi", "bosai"), False),
    # 転出・転入 (別冊 b エ)
    "tennyu_yoyaku": ("moving", "jpki", ("shimin",), False),
    # 処理件数が多い手続 (別冊 a) のうち市区町村が受け付けるもの
    "event_moushikomi": ("other", "email", ("shogai",), False),
    "suido_shiyou_kaishi": ("moving", "none", ("suido", "gesuido"), False),
    "suido_shiyou_chushi": ("moving", "none", ("suido", "gesuido"), False),
    "doro_senyo_kyoka": ("other", "email", ("doro",), True),
    "doro_senyo_koji_todoke": ("other", "email", ("doro",), True),
    "sodai_gomi": ("other", "none", ("seiso",), False),
    "sanpai_jisseki_houkoku": ("other", "email", ("sanpai",), False),
    "inu_touroku": ("other", "none", ("kankyo",), False),
    "inu_shibou": ("other", "none", ("kankyo",), False),
    "inu_touroku_henkou": ("other", "none", ("kankyo",), False),
    "shokuin_saiyou": ("other", "email", ("jinji",), False),
    "nyusatsu_shikaku": ("other", "email", ("keiyaku",), True),
    "fuzaisha_touhyou": ("other", "jpki", ("senkyo",), False),
    "boka_shiyou_kaishi": ("other", "none", ("yobo",), True),
    "moyooshi_kaisai": ("other", "none", ("yobo",), True),
}

# The 別冊 of the 手順書 (デジタル社会の実現に向けた重点計画 V): every procedure a municipality
# receives from residents or businesses, and the standard template that takes it.
BESSATSU = {
    "b ア1 児童手当等の受給資格及び児童手当の額についての認定請求": "jidou_teate_nintei",
    "b ア2 児童手当等の額の改定の請求及び届出": "jidou_teate_gaku_kaitei",
    "b ア3 氏名変更／住所変更等の届出": "jidou_teate_henkou",
    "b ア4 受給事由消滅の届出": "jidou_teate_shoumetsu",
    "b ア5 未支払の児童手当等の請求": "jidou_teate_mishiharai",
    "b ア6 児童手当等に係る寄附の申出": "jidou_teate_kifu",
    "b ア7 児童手当に係る寄附変更等の申出": "jidou_teate_kifu_henkou",
    "b ア8 受給資格者の申出による学校給食費等の徴収等の申出": "jidou_teate_kyushokuhi",
    "b ア9 受給資格者の申出による学校給食費等の徴収等の変更等の申出": (
        "jidou_teate_kyushokuhi_henkou"
    ),
    "b ア10 児童手当等の現況届": "jidou_teate_genkyo",
    "b ア11 支給認定の申請": "kyouiku_hoiku_kyufu_nintei",
    "b ア12 保育施設等の利用申込": "hoiku_riyou_moushikomi",
    "b ア13 保育施設等の現況届": "hoiku_genkyo",
    "b ア14 児童扶養手当の現況届の事前送信": "jidou_fuyou_teate_genkyo",
    "b ア15 妊娠の届出": "ninshin_todoke",
    "b イ1 要介護・要支援認定の申請": "youkaigo_nintei",
    "b イ2 要介護・要支援更新認定の申請": "youkaigo_nintei",
    "b イ3 要介護・要支援状態区分変更認定の申請": "youkaigo_nintei",
    "b イ4 居宅（介護予防）サービス計画作成（変更）依頼の届出": "kyotaku_service_keikaku",
    "b イ5 介護保険負担割合証の再交付申請": "futan_wariai_saikoufu",
    "b イ6 被保険者証の再交付申請": "hihokenshasho_saikoufu",
    "b イ7 高額介護（予防）サービス費の支給申請": "kougaku_kaigo_service",
    "b イ8 介護保険負担限度額認定申請": "futan_gendogaku_nintei",
    "b イ9 居宅介護（介護予防）福祉用具購入費の支給申請": "fukushi_yougu_kounyu",
    "b イ10 居宅介護（介護予防）住宅改修費の支給申請": "jutaku_kaishu",
    "b イ11 住所移転後の要介護・要支援認定申請": "tenkyo_youkaigo_nintei",
    "b ウ1 罹災証明書の発行申請": "risai_shoumei",
    "b ウ2 応急仮設住宅の入居申請": "oukyu_kasetsu_jutaku",
    "b ウ3 応急修理の実施申請": "oukyu_shuuri",
    "b ウ4 障害物除去の実施申請": "shougaibutsu_jokyo",
    "b ウ5 災害弔慰金の支給申請": "saigai_chouikin",
    "b ウ6 災害障害見舞金の支給申請": "saigai_shougai_mimaikin",
    "b ウ7 災害援護資金の貸付申請": "saigai_engo_shikin",
    "b ウ8 被災者生活再建支援金の支給申請": "seikatsu_saiken_shienkin",
    "b エ2 転入予定市区町村への来庁予定の連絡（転入予約）": "tennyu_yoyaku",
    "a 3) 研修・講習・各種イベント等の申込": "event_moushikomi",
    "a 8) 水道使用開始届等（開始）": "suido_shiyou_kaishi",
    "a 8) 水道使用開始届等（中止）": "suido_shiyou_chushi",
    "a 10) 道路占用許可申請等（許可申請）": "doro_senyo_kyoka",
    "a 10) 道路占用許可申請等（工事着手届・完成届）": "doro_senyo_koji_todoke",
    "a 15) 粗大ごみ収集の申込": "sodai_gomi",
    "a 16) 産業廃棄物の処理、運搬の実績報告": "sanpai_jisseki_houkoku",
    "a 17) 犬の登録申請": "inu_touroku",
    "a 17) 犬の死亡届": "inu_shibou",
    "a 17) 犬の登録事項変更（ぴったりサービスの同名の手続）": "inu_touroku_henkou",
    "a 19) 職員採用試験申込": "shokuin_saiyou",
    "a 20) 入札参加資格審査申請等": "nyusatsu_shikaku",
    "a 22) 衆議院・参議院選挙の不在者投票用紙等の請求": "fuzaisha_touhyou",
    "a 23) 消防法令における申請・届出等（防火対象物使用開始届出）": "boka_shiyou_kaishi",
    "a 23) 消防法令における申請・届出等（催物開催届出）": "moyooshi_kaisai",
}

# Templates that collect 個人番号 but are not at the マイナンバーカード level: kept at "email" so
# that residents can file them at the portal, as the demo and the resident journeys do. The law
# needs 本人確認 when 個人番号 is given (番号法第16条); docs/standard-templates.md says what a
# municipality must set before production (jpki, or 本人確認書類 images at the portal).
NUMBER_AT_EMAIL_LEVEL = {
    "jidou_teate_nintei",
    "hoiku_riyou_moushikomi",
    "ninshin_todoke",
    "youkaigo_nintei",
}


def load(key):
    return load_template_file(TEMPLATES_DIR / f"{key}.yaml")


def test_every_shipped_template_is_listed():
    assert sorted(available_template_keys()) == sorted(EXPECTED)


def test_every_procedure_of_the_bessatsu_has_a_template():
    assert set(BESSATSU.values()) == set(EXPECTED)
    listed = [k for k in BESSATSU if k.startswith("b ")]
    # list b: 子育て 15, 介護 11, 被災者支援 8, and the 転入予約 of 転出・転入
    assert len(listed) == 15 + 11 + 8 + 1


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_template_parses_and_has_the_expected_metadata(key):
    definition = load(key)
    category, identity_level, departments, allows_proxy = EXPECTED[key]
    assert definition.key == key
    assert definition.procedure["category"] == category
    assert definition.procedure["identity_level"] == identity_level
    assert definition.departments == departments
    assert definition.procedure["allows_proxy"] is allows_proxy
    for name in ("name", "reading", "summary", "description", "eligibility", "what_you_need"):
        assert definition.procedure[name], name
    for name in ("keywords", "duration", "processing_time", "fee"):
        assert definition.procedure[name], name
    assert definition.procedure["life_events"]
    assert 1 <= definition.procedure["retention_years"] <= 15
    assert 1 <= definition.procedure["target_days"] <= 60
    # The stored form parses on its own (what FormVersion.form does).
    schema = parse_form(definition.form, source=key)
    assert schema.feedback is True
    assert len(schema.steps) >= 3
    # the header comment says where the form comes from (law, national form, ぴったりサービス)
    header = definition.path.read_text(encoding="utf-8").split("\nkey:", 1)[0]
    assert header.startswith("# ") and len(header) > 40, key


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_individual_numbers_are_asked_only_with_a_signature(key):
    """番号法第16条: whoever receives 個人番号 from the person checks who they are. Online that
    is the マイナンバーカード signature (identity level jpki)."""
    definition = load(key)
    asks_number = any(f.type == "individual_number" for f in definition.schema.all_fields())
    if asks_number and key not in NUMBER_AT_EMAIL_LEVEL:
        assert definition.procedure["identity_level"] == "jpki", key
    if key in NUMBER_AT_EMAIL_LEVEL:
        assert asks_number and definition.procedure["identity_level"] == "email"


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_signed_procedures_tell_residents_to_have_their_card(key):
    """A jpki procedure is filed with the マイナンバーカード (at マイナポータル); the page says so. It is
    also received from registered businesses (proxies) and at the counter."""
    definition = load(key)
    if definition.procedure["identity_level"] != "jpki":
        return
    notice = definition.procedure["what_you_need"]
    assert "マイナンバーカード" in notice, key


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_the_applicant_is_the_person_the_application_is_for(key):
    """The applicant's name comes from `applicant.name` or the first name field; it must never
    be the deceased, a proxy's staff member or a relative filing for someone."""
    schema = load(key).schema
    field_key = schema.applicant_name_field or next(
        f.key for f in schema.all_fields() if f.type == "name" and f.parent is None
    )
    label = schema.field(field_key).label
    for wrong in ("亡くなった", "担当者", "申請する方", "届け出る方", "代理人", "保証人"):
        assert wrong not in label, (key, field_key, label)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_every_template_asks_to_confirm_the_handling_of_personal_data(key):
    schema = load(key).schema
    notices = [f for f in schema.all_fields() if f.type == "notice"]
    assert any(f.key == "privacy_notice" and f.label == "個人情報の取扱い" for f in notices)
    assert schema.steps[-1].fields[-1].type == "notice"


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_keywords_offer_kana_variants(key):
    keywords = load(key).procedure["keywords"].split()
    assert any(all("\u3041" <= c <= "\u309f" for c in word) for word in keywords), keywords


def test_departments_used_by_templates_are_standard():
    standard = load_standard_departments()
    used = {code for key in EXPECTED for code in load(key).departments}
    assert used == set(standard)
    assert standard["suido"] == "水道課"
    assert standard["gesuido"] == "下水道課"
    assert standard["kodomo"] == "こども家庭課"


def test_jidou_teate_nintei_children_and_account():
    definition = load("jidou_teate_nintei")
    assert definition.name == "児童手当等の受給資格及び児童手当の額についての認定請求"
    schema = definition.schema
    children = schema.field("children")
    assert children.type == "repeat"
    assert (children.min, children.max, children.item_label) == (1, 10, "児童")
    child_keys = [f.key for f in children.fields]
    assert child_keys[:2] == ["child_name", "child_birth_date"]
    assert schema.field("child_name").kana is True
    assert schema.field("child_address").visible_if.to_dict() == {
        "field": "child_living",
        "equals": "separate",
    }
    assert "child_individual_number" in child_keys
    assert schema.field("bank_account").type == "bank_account"
    assert "請求者本人" in schema.field("bank_account").help
    assert schema.field("spouse_name").visible_if.to_dict() == {
        "field": "has_spouse",
        "equals": True,
    }
    assert schema.field("public_servant_notice").type == "notice"
    insurance = schema.field("insurance_document")
    assert insurance.type == "file"
    assert insurance.required_if.to_dict() == {"field": "claimant_pension", "equals": "kosei"}


def test_youkaigo_nintei_allows_proxy_with_office_number():
    definition = load("youkaigo_nintei")
    assert definition.procedure["allows_proxy"] is True
    schema = definition.schema
    assert [o.value for o in schema.field("application_kind").options] == [
        "new",
        "renewal",
        "change",
    ]
    office_number = schema.field("office_number")
    assert office_number.visible_if.to_dict() == {"field": "applicant_type", "equals": "office"}
    assert office_number.pattern.fullmatch("1312345678")
    assert not office_number.pattern.fullmatch("131234567")
    assert schema.field("insured_number").pattern.fullmatch("0000012345")
    assert len(schema.field("specified_disease").options) == 16  # 介護保険法施行令第2条
    assert schema.field("information_consent").type == "notice"


def test_other_templates_details():
    hoiku = load("hoiku_riyou_moushikomi").schema
    assert hoiku.field("guardian_reasons").type == "checkboxes"
    assert [hoiku.field(f"child_facility_{i}").parent.key for i in (1, 2, 3)] == ["children"] * 3
    assert hoiku.field("employment_certificate").type == "file"

    risai = load("risai_shoumei").schema
    assert risai.field("photos").max_files == 10
    assert risai.field("copies").type == "integer"

    suido = load("suido_shiyou_kaishi").schema
    assert suido.field("bank_account").visible_if.to_dict() == {
        "field": "payment_method",
        "equals": "account_transfer",
    }
    assert suido.field("agent_company").visible_if.to_dict() == {
        "field": "filer_type",
        "equals": "agent",
    }

    sodai = load("sodai_gomi")
    assert sodai.procedure["fee"] == "品目により200円〜"
    items = sodai.schema.field("items")
    assert [f.key for f in items.fields] == ["item_name", "item_quantity", "item_size"]

    ninshin = load("ninshin_todoke").schema
    assert ninshin.field("due_date").type == "date"
    assert ninshin.field("multiple_pregnancy").type == "radio"

    inu = load("inu_touroku").schema
    assert inu.field("rabies_certificate").type == "file"
    assert inu.field("microchip_number").pattern.fullmatch("392141000123456")


def test_docs_table_matches_the_templates():
    """docs/standard-templates.md is generated from the templates; refresh it with
    `.venv/bin/python tools/standard_templates_doc.py`."""
    import importlib.util

    path = TEMPLATES_DIR.parents[3] / "tools" / "standard_templates_doc.py"
    spec = importlib.util.spec_from_file_location("standard_templates_doc", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    current = tool.DOC.read_text(encoding="utf-8")
    assert tool.render(current) == current, "run tools/standard_templates_doc.py"
    assert set(tool.SOURCES) == set(EXPECTED)
    for key in EXPECTED:
        assert f"（`{key}`）" in current
