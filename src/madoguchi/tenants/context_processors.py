def municipality(request):
    """Expose the municipality a view resolved (see tenants.scoping) to every template."""
    return {"municipality": getattr(request, "municipality", None)}


def staff_roles(request):
    """What the navigation offers: computed only for logged-in staff (memberships are cached
    on the user object for the request)."""
    from .permissions import is_any_admin, is_any_builder, is_any_handler, is_staff_member

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not is_staff_member(user):
        return {
            "staff_is_member": False,
            "staff_is_admin": False,
            "staff_is_handler": False,
            "staff_is_builder": False,
        }
    return {
        "staff_is_member": True,
        "staff_is_admin": is_any_admin(user),
        "staff_is_handler": is_any_handler(user),
        "staff_is_builder": is_any_builder(user),
    }
