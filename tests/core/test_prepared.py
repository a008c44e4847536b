"""madoguchi.core.prepared: a query's SQL compiled once, its rows read at every run."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from madoguchi.core.prepared import PreparedQuery
from madoguchi.tenants.models import Department, StaffMembership
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def _departments(municipality_id, codes):
    return (
        Department.objects.filter(municipality_id=municipality_id, code__in=codes)
        .order_by("code")
        .values_list("code", "name")
    )


def test_rows_follow_the_values_and_every_change(municipality, other_municipality):
    for code in ("a", "b", "c"):
        Department.objects.create(municipality=municipality, code=code, name=code.upper())
    Department.objects.create(municipality=other_municipality, code="a", name="other")
    # Strings are not placeholders: only ids (ints) are; the codes are part of the shape.
    prepared = PreparedQuery(
        Department,
        lambda municipality: _departments(municipality, ["a", "c"]),
        ("municipality",),
    )
    assert prepared.rows(municipality=municipality.pk) == [("a", "A"), ("c", "C")]
    assert prepared.rows(municipality=other_municipality.pk) == [("a", "other")]
    Department.objects.filter(municipality=municipality, code="c").update(name="changed")
    with CaptureQueriesContext(connection) as captured:
        assert prepared.rows(municipality=municipality.pk) == [("a", "A"), ("c", "changed")]
    assert len(captured) == 1  # read again, never kept


def test_lists_are_compiled_per_length(municipality):
    departments = [
        Department.objects.create(municipality=municipality, code=code, name=code)
        for code in ("a", "b", "c")
    ]
    prepared = PreparedQuery(
        Department,
        lambda ids: Department.objects.filter(pk__in=ids).order_by("code").values_list("code"),
        ("ids",),
    )
    assert prepared.rows(ids=[departments[0].pk]) == [("a",)]
    assert prepared.rows(ids=[departments[2].pk, departments[1].pk]) == [("b",), ("c",)]
    assert prepared.rows(ids=[departments[1].pk]) == [("b",)]
    assert len(prepared._compiled) == 2


def test_objects_with_their_related_rows(municipality):
    user = make_staff("prepared", municipality, "welfare")
    make_staff("someone-else", municipality, "tax")
    prepared = PreparedQuery(
        StaffMembership,
        lambda user: StaffMembership.objects.filter(user=user).select_related("department"),
        ("user",),
    )
    (membership,) = prepared.objects(user=user.pk)
    expected = StaffMembership.objects.select_related("department").get(user=user)
    assert membership == expected
    assert membership.role == expected.role
    with CaptureQueriesContext(connection) as captured:
        assert membership.department.code == "welfare"  # loaded with it
    assert len(captured) == 0
    assert membership._state.db == "default" and not membership._state.adding


def test_a_value_the_compiler_does_not_keep_is_refused(municipality):
    # A value folded away by the ORM (here: compared twice, so the SQL would not say which
    # parameter is which) cannot be replaced safely: refused when compiled.
    prepared = PreparedQuery(
        Department,
        lambda municipality: Department.objects.filter(pk__gt=municipality - 1).values_list("pk"),
        ("municipality",),
    )
    with pytest.raises(ValueError, match="placeholders missing"):
        prepared.rows(municipality=municipality.pk)


def test_first_with_a_string_value_and_an_instance_for_its_id(municipality, other_municipality):
    for code, name in (("b", "second"), ("a", "first")):
        Department.objects.create(municipality=municipality, code=code, name=name)
    Department.objects.create(municipality=other_municipality, code="a", name="other")
    prepared = PreparedQuery(
        Department,
        lambda municipality, code: Department.objects.filter(
            municipality_id=municipality, code__gte=code
        ).order_by("-code"),
        ("municipality",),
        strings=("code",),
    )
    # The first in the query's order, the string replaced at each run.
    assert prepared.first(municipality=municipality, code="a").name == "second"
    assert prepared.first(municipality=municipality.pk, code="b").name == "second"
    assert prepared.first(municipality=other_municipality, code="a").name == "other"
    assert prepared.first(municipality=other_municipality, code="b") is None
    assert prepared.first(municipality=municipality, code="c") is None
    assert len(prepared._compiled) == 1
    with CaptureQueriesContext(connection) as captured:
        assert prepared.first(municipality=municipality, code="b").code == "b"
    assert len(captured) == 1 and "LIMIT 1" in captured[0]["sql"].upper()
