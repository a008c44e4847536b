"""What a resident's failed step records for 「入力エラーが多い項目」 is the rule really broken:
an impossible 和暦 date is `date_impossible`, a 個人番号 of the wrong length is `length` (posted
through the portal's real step view of the standard 児童手当 認定請求 form)."""

import pytest

from madoguchi.analytics.models import ValidationFailure
from tests.portal.conftest import start
from tests.portal.test_apply import CLAIMANT, SLUG, post, walk_to

pytestmark = pytest.mark.django_db


def test_portal_step_records_the_real_rule(client, loaded_municipality):
    url = walk_to(client, start(client, SLUG), "claimant")
    bad = {
        **CLAIMANT,
        "claimant_birth_date__era": "平成",
        "claimant_birth_date__year": "31",
        "claimant_birth_date__month": "5",
        "claimant_birth_date__day": "1",
        "claimant_individual_number": "12345678901",  # 11 digits
        "claimant_postal_code": "999-0001",  # not used by Japan Post
    }
    response = post(client, url, bad)
    assert response.status_code == 200
    page = response.content.decode()
    assert "平成31年5月1日は存在しません。令和元年5月1日と入力してください。" in page
    assert "個人番号は12桁の数字で入力してください。" in page
    assert {(f.field_key, f.rule) for f in ValidationFailure.objects.all()} == {
        ("claimant_birth_date", "date_impossible"),
        ("claimant_individual_number", "length"),
        ("claimant_postal_code", "postal_unknown"),
    }
