"""Every standard template (標準様式) parses, renders and validates without surprises."""

from pathlib import Path

import pytest
import yaml

from madoguchi.formengine.display import review_sections
from madoguchi.formengine.rendering import render_step
from madoguchi.formengine.schema import parse_form
from madoguchi.formengine.validation import raw_from_answers, validate_step

TEMPLATES = sorted(
    (Path(__file__).resolve().parents[2] / "src/madoguchi/catalog/standard_templates").glob(
        "*.yaml"
    )
)


@pytest.mark.skipif(not TEMPLATES, reason="no standard templates yet")
@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.stem)
def test_standard_template(path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    form = parse_form(data["form"], source=data.get("key", path.stem))
    for step in form.steps:
        result = validate_step(form, step.key, {}, {}, {}, None)
        assert all(e.message.endswith("。") for e in result.errors)
        html = str(render_step(form, step.key, {}, result.errors))
        assert "style=" not in html and "<script" not in html
        for error in result.errors:
            assert f'id="{error.input_id}"' in html, error
        assert raw_from_answers(form, step.key, {}) == {}
    assert review_sections(form, {}) is not None


# Text fields of the standard templates that hold a person's name (not that of a company or an
# organisation), checked like the applicant's name.
PERSON_NAME_FIELDS = {
    ("boka_shiyou_kaishi", "fire_manager_name"),
    ("doro_senyo_kyoka", "contact_name"),
    ("inu_touroku", "representative_name"),
    ("inu_touroku_henkou", "previous_owner_name"),
    ("inu_touroku_henkou", "former_owner_name"),
    ("moyooshi_kaisai", "site_manager"),
    ("ninshin_todoke", "doctor_name"),
    ("nyusatsu_shikaku", "contact_name"),
    ("sanpai_jisseki_houkoku", "contact_name"),
    ("suido_shiyou_chushi", "agent_staff_name"),
    ("suido_shiyou_kaishi", "agent_staff_name"),
    ("tenkyo_youkaigo_nintei", "doctor_name"),
    ("youkaigo_nintei", "doctor_name"),
}


@pytest.mark.skipif(not TEMPLATES, reason="no standard templates yet")
def test_text_fields_holding_a_persons_name_carry_the_flag():
    flagged = set()
    for path in TEMPLATES:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        form = parse_form(data["form"], source=data.get("key", path.stem))
        flagged |= {(path.stem, f.key) for f in form.all_fields() if f.person_name}
        if path.stem == "youkaigo_nintei":
            doctor = form.field("doctor_name")
            assert (doctor.type, doctor.label) == ("text", "主治医の氏名")
    assert flagged == PERSON_NAME_FIELDS
