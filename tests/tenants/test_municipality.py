import pytest
from django.core.exceptions import ValidationError

from madoguchi.tenants.models import Department, Municipality, StaffMembership


@pytest.mark.django_db
def test_lg_code_with_wrong_check_digit_is_refused():
    municipality = Municipality(lg_code="131017", name="千代田区")
    with pytest.raises(ValidationError) as excinfo:
        municipality.full_clean()
    assert excinfo.value.message_dict["lg_code"] == [
        "全国地方公共団体コード「131017」の検査数字が正しくありません（13101 の検査数字は 6 です）。"
    ]


@pytest.mark.django_db
def test_lg_code_must_be_six_digits():
    with pytest.raises(ValidationError) as excinfo:
        Municipality(lg_code="13101", name="千代田区").full_clean()
    assert (
        "全国地方公共団体コードは半角数字6桁で入力してください。"
        in excinfo.value.message_dict["lg_code"]
    )


@pytest.mark.django_db
def test_valid_codes_are_accepted():
    for code, name in [("131016", "千代田区"), ("012131", "苫小牧市"), ("012050", "室蘭市")]:
        Municipality(lg_code=code, name=name).full_clean()


def test_department_queries_are_scoped(municipality, other_municipality):
    Department.objects.create(municipality=municipality, code="suido", name="水道課")
    Department.objects.create(municipality=other_municipality, code="suido", name="上下水道課")
    names = list(Department.objects.for_municipality(municipality).values_list("name", flat=True))
    assert names == ["水道課"]


def test_membership_department_must_belong_to_the_same_municipality(
    municipality, other_municipality, django_user_model
):
    user = django_user_model.objects.create_user("staff1")
    department = Department.objects.create(municipality=other_municipality, code="x", name="X課")
    membership = StaffMembership(
        user=user, municipality=municipality, department=department, role="handler"
    )
    with pytest.raises(ValidationError) as excinfo:
        membership.clean()
    assert excinfo.value.messages == ["担当課は同じ地方公共団体のものを選んでください。"]
