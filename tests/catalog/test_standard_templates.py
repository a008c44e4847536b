"""The shipped standard templates (標準様式): every one parses and says what it should."""

import pytest

from madoguchi.catalog.loader import (
    TEMPLATES_DIR,
    available_template_keys,
    load_standard_departments,
    load_template_file,
)
from madoguchi.formengine.schema import parse_form

EXPECTED = {
    # key: (category, identity_level, departments)
    "jidou_teate_nintei": ("childcare", "email", ("kodomo",)),
    "jidou_teate_genkyo": ("childcare", "email", ("kodomo",)),
    "hoiku_riyou_moushikomi": ("childcare", "email", ("hoiku",)),
    "ninshin_todoke": ("childcare", "email", ("boshi",)),
    "youkaigo_nintei": ("nursing_care", "email", ("kaigo",)),
    "risai_shoumei": ("disaster", "none", ("bosai",)),
    "suido_shiyou_kaishi": ("moving", "none", ("suido", "gesuido")),
    "sodai_gomi": ("other", "none", ("seiso",)),
    "inu_touroku": ("other", "none", ("kankyo",)),
}


def load(key):
    return load_template_file(TEMPLATES_DIR / f"{key}.yaml")


def test_the_nine_templates_are_shipped():
    assert sorted(available_template_keys()) == sorted(EXPECTED)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_template_parses_and_has_the_expected_metadata(key):
    definition = load(key)
    category, identity_level, departments = EXPECTED[key]
    assert definition.key == key
    assert definition.procedure["category"] == category
    assert definition.procedure["identity_level"] == identity_level
    assert definition.departments == departments
    for name in ("name", "reading", "summary", "description", "eligibility", "what_you_need"):
        assert definition.procedure[name], name
    for name in ("keywords", "duration", "processing_time", "fee"):
        assert definition.procedure[name], name
    assert definition.procedure["life_events"]
    assert 1 <= definition.procedure["retention_years"] <= 10
    # The stored form parses on its own (what FormVersion.form does).
    schema = parse_form(definition.form, source=key)
    assert schema.feedback is True
    assert len(schema.steps) >= 3


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
    assert used <= set(standard)
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
