"""Who may see and handle which applications: the staff membership scope of
`tenants.permissions` (municipality, department, role) applied to applications.

A department's applications are those of its procedures, written as `procedure_id IN
(SELECT procedure_id FROM the procedure-department links WHERE department_id = …)`: no join,
so no DISTINCT (a procedure of several departments would join once per department) and the
condition can be added to any query of applications, an export's included, as it is."""

from django.db.models import Q

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import Department
from madoguchi.tenants.permissions import HANDLING_ROLES, VIEWING_ROLES, memberships

from .models import Application, Status

__all__ = ["HANDLING_ROLES", "VIEWING_ROLES", "application_scope", "visible_condition"]


def _department_procedures(department_id):
    """The ids of the procedures of a department, as a subquery."""
    return Procedure.departments.through.objects.filter(department_id=department_id).values(
        "procedure_id"
    )


def application_scope(user, *, roles) -> Q:
    """Q over Application rows covered by the user's memberships with one of `roles`."""
    scope = Q(pk__in=[])
    for m in memberships(user):
        if m.role not in roles:
            continue
        if m.department_id is None:
            scope |= Q(municipality_id=m.municipality_id)
        else:
            scope |= Q(
                municipality_id=m.municipality_id,
                procedure_id__in=_department_procedures(m.department_id),
            )
    return scope


def visible_condition(user, *, department: Department | None = None) -> Q:
    """Q over the submitted applications the user may see (optionally only those of one
    department), to add to any query of applications."""
    condition = ~Q(status=Status.DRAFT) & application_scope(user, roles=VIEWING_ROLES)
    if department is not None:
        condition &= Q(procedure_id__in=_department_procedures(department.pk))
    return condition


def visible_applications(user, *, department: Department | None = None):
    """Submitted applications the user may see (optionally only those of one department)."""
    return Application.objects.filter(visible_condition(user, department=department))


def can_view(user, application) -> bool:
    return visible_applications(user).filter(pk=application.pk).exists()


def can_handle(user, application) -> bool:
    """May change status, assign, write notes and messages (not a 閲覧者)."""
    return (
        Application.objects.filter(pk=application.pk)
        .filter(application_scope(user, roles=HANDLING_ROLES))
        .exists()
    )
