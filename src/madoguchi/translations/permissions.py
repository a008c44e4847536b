"""Who may translate a procedure's texts: a 管理者 of the municipality that owns it, and a
様式作成者 (role `form_editor`, where the deployment has it) whose membership covers one of the
procedure's departments or the whole municipality."""

from django.db.models import Q

from madoguchi.catalog.models import Procedure
from madoguchi.tenants.models import StaffMembership
from madoguchi.tenants.permissions import memberships

ADMIN = StaffMembership.Role.ADMIN
FORM_EDITOR = getattr(StaffMembership.Role, "FORM_EDITOR", None)


def _translator_memberships(user):
    roles = {ADMIN} | ({FORM_EDITOR} if FORM_EDITOR else set())
    return [m for m in memberships(user) if m.role in roles]


def is_translator(user) -> bool:
    return bool(_translator_memberships(user))


def translatable_procedures(user):
    scope = Q(pk__in=[])
    for m in _translator_memberships(user):
        if m.role == ADMIN or m.department_id is None:
            scope |= Q(municipality_id=m.municipality_id)
        else:
            scope |= Q(municipality_id=m.municipality_id, departments=m.department_id)
    return Procedure.objects.filter(scope).distinct()


def can_translate(user, procedure: Procedure) -> bool:
    return translatable_procedures(user).filter(pk=procedure.pk).exists()
