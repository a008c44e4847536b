"""Only the memberships that see applications (管理者, 担当者, 閲覧者) give KPI figures: a
様式作成者 builds forms and sees no application, so neither the figures of its procedures nor
the residents' comments on them (the same rule as applications.permissions.visible_applications)."""

import re

import pytest
from django.http import Http404

from madoguchi.analytics import figures
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import login_with_2fa, make_staff

from .conftest import at

pytestmark = pytest.mark.django_db

PERIOD = "start=2026-01-01&end=2026-06-30"


def procedure_options(page: str) -> set[int]:
    select = re.search(r'<select[^>]*id="kpi-procedure".*?</select>', page, re.S)[0]
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


def department_options(page: str) -> set[int]:
    select = re.search(r'<select[^>]*id="kpi-department".*?</select>', page, re.S)[0]
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


@pytest.mark.parametrize("department_code", [None, "kodomo"])
def test_a_form_editor_gets_no_figure(client, history, department_code):
    editor = make_staff("kpi_editor", history.municipality, department_code, role="form_editor")
    assert figures.viewer_municipalities(editor) == []
    assert figures.visible_procedure_ids(editor, history.municipality) == set()
    assert figures.visible_departments(editor, history.municipality) == []
    with pytest.raises(Http404):
        figures.build_scope(
            editor, history.municipality, start=at(1, 1).date(), end=at(6, 30).date()
        )

    c = login_with_2fa(client, editor)
    for url in (
        f"/staff/analytics/?{PERIOD}",
        f"/staff/analytics/?{PERIOD}&municipality={history.municipality.lg_code}",
        f"/staff/analytics/?{PERIOD}&procedure={history.a.pk}",
        f"/staff/analytics/download/?{PERIOD}&format=csv",
        f"/staff/analytics/download/?{PERIOD}&format=xlsx",
    ):
        response = c.get(url)
        assert response.status_code == 404, url
        body = response.content.decode("utf-8", "replace")
        assert "添付の方法がわかりにくい" not in body and "児童手当" not in body


@pytest.mark.parametrize("editor_department", [None, "kodomo"])
def test_a_form_editor_membership_adds_nothing_to_a_viewers_figures(
    client, history, editor_department
):
    """様式作成者 of こども家庭課 (or of the whole municipality) and 閲覧者 of 水道課: only
    水道課's procedure, figures and comments."""
    user = make_staff("kpi_both", history.municipality, "suido", role="viewer")
    StaffMembership.objects.create(
        user=user,
        municipality=history.municipality,
        department=(
            Department.objects.get(municipality=history.municipality, code=editor_department)
            if editor_department
            else None
        ),
        role="form_editor",
    )
    suido = Department.objects.get(municipality=history.municipality, code="suido")
    assert figures.visible_procedure_ids(user, history.municipality) == {history.b.pk}
    assert figures.visible_departments(user, history.municipality) == [suido]

    c = login_with_2fa(client, user)
    response = c.get(f"/staff/analytics/?{PERIOD}")
    assert response.status_code == 200
    page = response.content.decode()
    assert procedure_options(page) == {history.b.pk}
    assert department_options(page) == {suido.pk}
    assert 'id="kpi-total">1<' in page  # 水道課's one case, not こども家庭課's six
    assert "水道の意見" in page
    assert "添付の方法がわかりにくい" not in page and "とても簡単でした" not in page
    kodomo = history.a.departments.get().pk
    assert c.get(f"/staff/analytics/?{PERIOD}&procedure={history.a.pk}").status_code == 404
    assert c.get(f"/staff/analytics/?{PERIOD}&department={kodomo}").status_code == 404
    csv_text = c.get(f"/staff/analytics/download/?{PERIOD}&format=csv").content.decode("utf-8-sig")
    assert "水道の開始" in csv_text and "児童手当" not in csv_text


def test_viewing_roles_keep_their_figures(client, history):
    """管理者, 担当者 and 閲覧者 see what they saw before."""
    expected = {
        history.admin: ({history.a.pk, history.b.pk}, 7),
        history.handler: ({history.a.pk}, 6),
        history.viewer: ({history.a.pk}, 6),
        history.water: ({history.b.pk}, 1),
    }
    for user, (procedures, total) in expected.items():
        page = login_with_2fa(client, user).get(f"/staff/analytics/?{PERIOD}").content.decode()
        assert procedure_options(page) == procedures, user.username
        assert f'id="kpi-total">{total}<' in page, user.username
