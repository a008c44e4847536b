"""Helpers shared by the staff views."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404

from madoguchi.applications.models import Application
from madoguchi.applications.permissions import HANDLING_ROLES, visible_condition
from madoguchi.core.prepared import PreparedQuery
from madoguchi.tenants.models import Department, StaffMembership
from madoguchi.tenants.permissions import memberships, seeing_memberships


def get_department(user, department_id: int) -> Department:
    """A department whose inbox the user may open (as `staff_departments` says), else 404.
    A membership of that department already holds it (no query); a municipality-wide one
    looks up that one department (its municipality is not loaded: use municipality_id)."""
    rows = [m for m in memberships(user) if m.role != StaffMembership.Role.FORM_EDITOR]
    for m in rows:
        if m.department_id == department_id:
            return m.department
    municipality_ids = {m.municipality_id for m in rows if m.department_id is None}
    department = (
        Department.objects.filter(pk=department_id, municipality_id__in=municipality_ids).first()
        if municipality_ids
        else None
    )
    if department is None:
        raise Http404("department not visible")
    return department


class _MembershipsShape:
    """Stands for a user in `visible_applications` while its SQL is compiled: memberships of
    the user's roles and kinds (municipality-wide or of a department), whose ids are the
    placeholders of core.prepared."""

    is_authenticated = True

    def __init__(self, memberships):
        self._madoguchi_memberships = memberships


def _visible_application_query(shape, pk, municipalities, departments):
    departments = iter(departments)
    user = _MembershipsShape(
        [
            StaffMembership(
                role=role,
                municipality_id=municipality_id,
                department_id=next(departments) if has_department else None,
            )
            for (role, has_department), municipality_id in zip(shape, municipalities, strict=True)
        ]
    )
    return (
        Application.objects.filter(visible_condition(user), pk=pk)
        # Not the proxy and the staff member who entered it: usually empty, read on
        # demand when set (each join costs PostgreSQL's planner more than that lookup).
        .select_related("procedure", "form_version", "municipality", "assigned_to")
    )


# Its SQL (about 120 columns of four tables) compiled once per process and kind of
# memberships (core.prepared): 1-1.5 ms of CPU at every display of the review screen and
# every action on it. The permission itself is the one of `visible_applications`
# (`visible_condition`), built by it for the user's memberships.
_visible_application = PreparedQuery(
    Application, _visible_application_query, ("pk", "municipalities", "departments")
)


def get_visible_application(user, pk: int) -> Application:
    """The application with its related rows, else 404 when the user may not see it."""
    # Those `visible_applications` counts (a 様式作成者 sees no application).
    rows = seeing_memberships(user)
    if not rows:
        raise Http404("application not visible")
    found = _visible_application.objects(
        tuple((m.role, m.department_id is not None) for m in rows),
        pk=pk,
        municipalities=[m.municipality_id for m in rows],
        departments=[m.department_id for m in rows if m.department_id is not None],
    )
    if not found:
        raise Http404("application not visible")
    return found[0]


_procedure_departments = PreparedQuery(
    Department, lambda procedure: Department.objects.filter(procedures=procedure), ("procedure",)
)


def procedure_departments(application) -> list[Department]:
    """The departments of the application's procedure (as procedure.departments.all() in
    their order), read once per request (kept on the application) with SQL compiled once
    per process (core.prepared)."""
    cached = getattr(application, "_madoguchi_departments", None)
    if cached is None:
        cached = _procedure_departments.objects(procedure=application.procedure_id)
        application._madoguchi_departments = cached
    return cached


def can_handle_loaded(user, application) -> bool:
    """applications.permissions.can_handle for an application already read: 管理者 of its
    municipality, or 担当者 of one of its procedure's departments (the user's memberships
    are kept for the request; the procedure's departments are read here and used again by
    the screen), without that function's EXISTS query."""
    departments = {d.pk for d in procedure_departments(application)}
    return any(
        m.role in HANDLING_ROLES
        and m.municipality_id == application.municipality_id
        and (m.department_id is None or m.department_id in departments)
        for m in memberships(user)
    )


def _assignable_scope(pairs) -> Q:
    """Q over users who may handle applications of any of the departments given as
    (municipality id, department id) pairs."""
    scope = Q(pk__in=[])
    for municipality_id, department_id in pairs:
        scope |= Q(
            memberships__role__in=HANDLING_ROLES,
            memberships__municipality_id=municipality_id,
        ) & (Q(memberships__department__isnull=True) | Q(memberships__department=department_id))
    return scope


def assignable_staff(departments):
    """Users who may handle applications of any of `departments` (管理者 of the municipality
    or 担当者 of one of the departments), by user name."""
    departments = list(departments)
    if not departments:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(_assignable_scope((d.municipality_id, d.pk) for d in departments))
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def _assignable_rows(municipalities, departments, exclude):
    """assignable_staff's four columns, without the user `exclude` (an id; 0 for nobody)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(_assignable_scope(zip(municipalities, departments, strict=True)))
        .exclude(pk=exclude)
        .distinct()
        .order_by("last_name", "first_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )


# Its SQL compiled once per process and number of departments (madoguchi.core.prepared): a
# page of the inbox or the review screen builds it at every display, 0.5-1 ms of CPU.
_assignable = PreparedQuery(
    get_user_model(), _assignable_rows, ("municipalities", "departments", "exclude")
)


def assignable_choices(departments, *, exclude=None) -> list[tuple[int, str]]:
    """(pk, name) of `assignable_staff` for a form's list of staff, the name as the list
    showed it (get_full_name, else the user name); without `exclude` (a user). Four columns
    of each user, not User instances (every column, the password hash included)."""
    departments = list(departments)
    if not departments:
        return []
    rows = _assignable.rows(
        municipalities=[d.municipality_id for d in departments],
        departments=[d.pk for d in departments],
        exclude=exclude.pk if exclude is not None else 0,
    )
    return [(pk, f"{first} {last}".strip() or username) for pk, first, last, username in rows]


def staff_display_name(user) -> str:
    if user is None:
        return ""
    full = f"{user.last_name} {user.first_name}".strip()
    return full or user.get_username()
