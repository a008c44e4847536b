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
