"""Who may see and do what, from StaffMembership rows (the only source of staff rights).

Roles: 管理者 (admin) sees and handles everything of their municipality and manages it;
担当者 (handler) sees and handles the applications routed to their departments;
閲覧者 (viewer) sees like a handler of the same scope but changes nothing;
様式作成者 (editor) edits the procedures and forms of their department and sees no application.
A membership without a department covers the whole municipality.
"""

from django.db.models import Q

from madoguchi.core.prepared import PreparedQuery

from .models import Department, Municipality, StaffMembership

Role = StaffMembership.Role
# The roles whose memberships see applications, and those that also change them: the one
# definition (applications.permissions applies them to queries).
VIEWING_ROLES = frozenset({Role.ADMIN, Role.HANDLER, Role.VIEWER})
HANDLING_ROLES = frozenset({Role.ADMIN, Role.HANDLER})

# Read at every staff request: its SQL compiled once per process (madoguchi.core.prepared).
_memberships = PreparedQuery(
    StaffMembership,
    lambda user: StaffMembership.objects.filter(user=user).select_related("department"),
    ("user",),
)


def memberships(user) -> list[StaffMembership]:
    """The user's memberships, with their departments, read once per request (kept on the
    user object, which lives for the request)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_madoguchi_memberships", None)
    if cached is None:
        cached = _memberships.objects(user=user.pk)
        user._madoguchi_memberships = cached
    return cached


def is_staff_member(user) -> bool:
    return bool(memberships(user))


def is_admin(user, municipality: Municipality | int) -> bool:
    municipality_id = getattr(municipality, "pk", municipality)
    return any(
        m.role == Role.ADMIN and m.municipality_id == municipality_id for m in memberships(user)
    )


# Read by the inbox, the department chooser and the export form: SQL compiled once per
# process and number of departments and municipalities (core.prepared).
_departments = PreparedQuery(
    Department,
    lambda ids, municipalities: (
        Department.objects.filter(Q(pk__in=ids) | Q(municipality_id__in=municipalities))
        .select_related("municipality")
        .order_by("municipality__lg_code", "code")
    ),
    ("ids", "municipalities"),
)


def staff_departments(user) -> list[Department]:
    """Departments whose inbox the user may open (all of the municipality for a
    municipality-wide membership)."""
    # Kept on the user object for the request, as `memberships` is: a page asks several times.
    cached = getattr(user, "_madoguchi_staff_departments", None)
    if cached is not None:
        return list(cached)
    ids: set[int] = set()
    municipality_ids: set[int] = set()
    for m in memberships(user):
        if m.role == Role.FORM_EDITOR:  # builds forms; handles and sees no application
            continue
        if m.department_id is None:
            municipality_ids.add(m.municipality_id)
        else:
            ids.add(m.department_id)
    found = (
        _departments.objects(ids=sorted(ids), municipalities=sorted(municipality_ids))
        if ids or municipality_ids
        else []
    )
    if getattr(user, "is_authenticated", False):
        user._madoguchi_staff_departments = found
    return list(found)


def handled_departments(user, application, departments=None) -> list[Department]:
    """The application's departments on whose behalf the user may record progress
    (`departments`: those of its procedure, when the caller has read them)."""
    if departments is None:
        departments = list(application.procedure.departments.all())
    result = []
    for department in departments:
        for m in memberships(user):
            if m.role not in HANDLING_ROLES:
                continue
            if m.municipality_id != department.municipality_id:
                continue
            if m.department_id in (None, department.pk):
                result.append(department)
                break
    return result


def admin_municipality_ids(user) -> set[int]:
    """Municipalities in which the user is 管理者."""
    return {m.municipality_id for m in memberships(user) if m.role == Role.ADMIN}


def is_any_admin(user) -> bool:
    """管理者 of at least one municipality."""
    return bool(admin_municipality_ids(user))


def is_any_handler(user) -> bool:
    """May handle applications somewhere (管理者 or 担当者; not only 閲覧者)."""
    return any(m.role in HANDLING_ROLES for m in memberships(user))


def seeing_memberships(user) -> list[StaffMembership]:
    """The memberships that see applications (管理者, 担当者, 閲覧者): a 様式作成者 builds
    forms and sees no application, so no inbox row, export or KPI figure through that
    membership."""
    return [m for m in memberships(user) if m.role in VIEWING_ROLES]


def sees_applications(user) -> bool:
    """Sees applications somewhere (the 出力 and 指標 of the navigation)."""
    return bool(seeing_memberships(user))


def manageable_members(user):
    """Users the user may manage as 管理者 (2段階認証のリセット, ロック解除): members of staff
    all of whose memberships are in municipalities where the user is 管理者. A member who
    also belongs to another municipality is that municipality's business too, so only a
    管理者 of every municipality they belong to may act on them; a superuser (the platform
    operator) is never managed by a municipality."""
    from django.contrib.auth import get_user_model

    administered = admin_municipality_ids(user)
    return (
        get_user_model()
        .objects.filter(memberships__municipality_id__in=administered, is_superuser=False)
        .exclude(memberships__in=StaffMembership.objects.exclude(municipality_id__in=administered))
        .distinct()
    )


def is_any_builder(user) -> bool:
    """May open the form builder: 管理者 or 様式作成者 somewhere."""
    return any(m.role in {Role.ADMIN, Role.FORM_EDITOR} for m in memberships(user))


def editable_procedures_q(user) -> Q:
    """Q over Procedure rows the user may edit: every procedure of a municipality where the
    user is 管理者 (or 様式作成者 without a department), and the procedures of the
    departments where the user is 様式作成者."""
    scope = Q(pk__in=[])
    for m in memberships(user):
        if m.role == Role.ADMIN or (m.role == Role.FORM_EDITOR and m.department_id is None):
            scope |= Q(municipality_id=m.municipality_id)
        elif m.role == Role.FORM_EDITOR:
            scope |= Q(municipality_id=m.municipality_id, departments=m.department_id)
    return scope


def builder_departments(user, municipality: Municipality | int) -> list[Department] | None:
    """Departments of `municipality` whose procedures the user edits; None means all of them
    (管理者, or 様式作成者 for the whole municipality); [] means none."""
    municipality_id = getattr(municipality, "pk", municipality)
    ids: set[int] = set()
    for m in memberships(user):
        if m.municipality_id != municipality_id:
            continue
        if m.role == Role.ADMIN or (m.role == Role.FORM_EDITOR and m.department_id is None):
            return None
        if m.role == Role.FORM_EDITOR:
            ids.add(m.department_id)
    return list(Department.objects.filter(pk__in=ids).order_by("code"))


def builder_municipality_ids(user) -> list[int]:
    """Municipalities in which the user may build forms, in membership order."""
    return list(
        dict.fromkeys(
            m.municipality_id for m in memberships(user) if m.role in {Role.ADMIN, Role.FORM_EDITOR}
        )
    )
