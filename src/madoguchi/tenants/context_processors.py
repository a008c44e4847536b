def municipality(request):
    """Expose the municipality a view resolved (see tenants.scoping) to every template."""
    return {"municipality": getattr(request, "municipality", None)}


class _StaffRole:
    """One flag of `staff_roles`, worked out when a template first asks (`{% if %}`).

    The residents' pages never ask, so they never load the session, the user and the
    second factor that knowing whether someone is staff needs (three statements on every
    resident page once a session cookie exists, e.g. after the e-mail check)."""

    __slots__ = ("_roles", "_name")

    def __init__(self, roles, name: str):
        self._roles, self._name = roles, name

    def __bool__(self) -> bool:
        return self._roles()[self._name]

    def __eq__(self, other) -> bool:
        return bool(self) == other

    def __hash__(self) -> int:
        return hash(bool(self))

    def __str__(self) -> str:
        return str(bool(self))

    __repr__ = __str__


def staff_roles(request):
    """What the navigation offers, for logged-in staff (memberships are cached on the user
    object for the request); evaluated only by the templates that use it."""
    computed: dict[str, bool] = {}

    def roles() -> dict[str, bool]:
        if not computed:
            computed.update(_staff_roles(request))
        return computed

    return {
        name: _StaffRole(roles, name)
        for name in (
            "staff_is_member",
            "staff_is_admin",
            "staff_is_handler",
            "staff_is_builder",
            "staff_sees_applications",
        )
    }


def _staff_roles(request) -> dict[str, bool]:
    from .permissions import (
        is_any_admin,
        is_any_builder,
        is_any_handler,
        is_staff_member,
        sees_applications,
    )

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_staff_member(user):
        return {
            "staff_is_member": False,
            "staff_is_admin": False,
            "staff_is_handler": False,
            "staff_is_builder": False,
            "staff_sees_applications": False,
        }
    return {
        "staff_is_member": True,
        "staff_is_admin": is_any_admin(user),
        "staff_is_handler": is_any_handler(user),
        "staff_is_builder": is_any_builder(user),
        # 出力 and 指標 show applications' data: not offered to a 様式作成者 only.
        "staff_sees_applications": sees_applications(user),
    }
