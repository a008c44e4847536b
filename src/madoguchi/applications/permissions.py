"""Who may see and handle which applications: the staff membership scope of
`tenants.permissions` (municipality, department, role) applied to applications."""

from madoguchi.tenants.models import Department, StaffMembership
from madoguchi.tenants.permissions import application_scope

from .models import Application

Role = StaffMembership.Role


def visible_applications(user, *, department: Department | None = None):
    """Submitted applications the user may see (optionally only those of one department)."""
    qs = Application.objects.submitted().filter(
        application_scope(user, roles={Role.ADMIN, Role.HANDLER, Role.VIEWER})
    )
    if department is not None:
        qs = qs.filter(procedure__departments=department)
    return qs.distinct()


def can_view(user, application) -> bool:
    return visible_applications(user).filter(pk=application.pk).exists()


def can_handle(user, application) -> bool:
    """May change status, assign, write notes and messages (not a 閲覧者)."""
    return (
        Application.objects.filter(pk=application.pk)
        .filter(application_scope(user, roles={Role.ADMIN, Role.HANDLER}))
        .exists()
    )
