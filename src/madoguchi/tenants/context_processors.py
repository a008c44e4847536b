def municipality(request):
    """Expose the municipality a view resolved (see tenants.scoping) to every template."""
    return {"municipality": getattr(request, "municipality", None)}
