"""A resident files three of the standard templates added for the 別冊 on a phone-sized
screen, typing answers generated from each form's own definition (tests.formgen): 水道使用中止届
(no identity check, the address from the postal code), 講座・イベントの申込 (e-mail address
verified first, repeat items added with the page's button, fields revealed by earlier answers)
and 住宅の応急修理の申込 (photos and documents attached)."""

import pytest
from playwright.sync_api import expect

from madoguchi.applications.models import Application, Attachment, Status
from madoguchi.catalog.models import Procedure
from tests import formgen

from .conftest import assert_accessible, screenshot
from .journeys import press_next, start, submit_confirmation

EMAIL = "hanako@example.jp"
TEMPLATES = {
    # key: (seed, answers to force so the journey takes its longest path)
    "suido_shiyou_chushi": (3, {"filer_type": "agent", "moving_within": True}),
    "event_moushikomi": (5, {"childcare": True, "accommodations": ["wheelchair", "other"]}),
    "oukyu_shuuri": (8, {"ownership": "rented", "has_contractor": True, "evacuated": True}),
}


def without_ids(value):
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k != "attachment"}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_resident_files_a_new_standard_template_on_a_phone(phone, chiyoda_live, tmp_path, key):
    page = phone
    seed, choices = TEMPLATES[key]
    procedure = Procedure.objects.get(municipality__lg_code="131016", slug=key)
    form = procedure.current_version.form
    filled = formgen.generate(form, seed, choices=choices)

    start(page, chiyoda_live, key, EMAIL)
    for index, step_key in enumerate(filled.step_keys):
        expect(page.locator("#step-title")).to_have_text(form.step(step_key).title)
        formgen.fill_in_browser(page, form, filled, step_key, tmp_path)
        if index == 0:
            assert_accessible(page, f"{key}: first step")
            screenshot(page, f"20-template-{key}-first-step")
        press_next(page)

    expect(page.locator("h1")).to_have_text("入力内容の確認")
    assert_accessible(page, f"{key}: confirmation")
    screenshot(page, f"20-template-{key}-confirm")
    receipt_number = submit_confirmation(page)

    application = Application.objects.get(
        municipality=procedure.municipality, receipt_number=receipt_number
    )
    assert application.procedure == procedure
    assert application.status == Status.RECEIVED
    assert without_ids(application.answers) == without_ids(filled.answers)
    files = sum(len(specs) for specs in filled.files.values())
    assert Attachment.objects.filter(application=application).count() == files


def test_browsing_about_fifty_procedures_by_field_and_life_event(phone, chiyoda_live):
    """With every standard template loaded, the home page's tiles count them right and each
    list is short enough to scan on a phone; life events lead to the procedures of that
    moment (おくやみ, 仕事・事業 as well)."""
    from madoguchi.catalog.models import Category, LifeEvent

    page = phone
    page.goto(f"{chiyoda_live}/")
    procedures = list(Procedure.objects.filter(municipality__lg_code="131016"))
    tiles = page.locator("#by-category + ul li a")
    for value, label in Category.choices:
        count = sum(1 for p in procedures if p.category == value)
        expect(page.locator(f"a[href$='?category={value}']")).to_contain_text(f"{label}{count}件")
    for value, label in LifeEvent.choices:
        count = sum(1 for p in procedures if value in p.life_events)
        assert count, value
        expect(page.locator(f"a[href$='?life_event={value}']")).to_contain_text(f"{label}{count}件")
    assert tiles.count() == len(Category.choices)
    assert_accessible(page, "home with every standard template")
    screenshot(page, "21-home-with-every-template")

    page.locator("a[href$='?category=childcare']").click()
    expect(page.locator("h1")).to_have_text("子育ての手続")
    childcare = [p for p in procedures if p.category == "childcare"]
    expect(page.locator("#results > li")).to_have_count(len(childcare))
    screenshot(page, "22-childcare-procedures")

    page.goto(f"{chiyoda_live}/procedures/?life_event=death")
    expect(page.locator("h1")).to_have_text("おくやみに関する手続")
    expect(page.locator("#results")).to_contain_text("未支払の児童手当等の請求")
    expect(page.locator("#results")).to_contain_text("災害弔慰金の支給申請")

    page.goto(f"{chiyoda_live}/procedures/fukushi_yougu_kounyu/")
    expect(page.locator("#mynaportal-notice")).to_contain_text("マイナポータルから申請してください")
    expect(page.locator("#start-button")).to_have_count(0)
    screenshot(page, "23-procedure-needing-a-signature")
