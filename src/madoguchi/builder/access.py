"""Who may use the builder and on which procedures (server side; every view goes through
these). A procedure the user may not edit answers 404, like every other staff page."""

from django.http import Http404

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.decorators import _role_required
from madoguchi.tenants.models import Municipality
from madoguchi.tenants.permissions import (
    builder_departments,
    builder_municipality_ids,
    editable_procedures_q,
    is_any_builder,
)

builder_required = _role_required(is_any_builder, "not a form builder")


def editable_procedures(user):
    return Procedure.objects.filter(editable_procedures_q(user)).distinct()


def get_procedure(user, pk: int) -> Procedure:
    procedure = (
        editable_procedures(user).select_related("municipality", "current_version").filter(pk=pk)
    ).first()
    if procedure is None:
        raise Http404("procedure not editable")
    return procedure


def builder_municipalities(user) -> list[Municipality]:
    ids = builder_municipality_ids(user)
    found = {m.pk: m for m in Municipality.objects.filter(pk__in=ids)}
    return [found[i] for i in ids if i in found]


def get_municipality(user, pk: int | str | None) -> Municipality:
    """A municipality where the user builds forms (the first one when `pk` is empty)."""
    municipalities = builder_municipalities(user)
    if pk in (None, ""):
        if municipalities:
            return municipalities[0]
    else:
        for municipality in municipalities:
            if str(municipality.pk) == str(pk):
                return municipality
    raise Http404("municipality not editable")


def own_departments(user, municipality):
    """The departments the user edits in `municipality` (None: all of them)."""
    return builder_departments(user, municipality)
