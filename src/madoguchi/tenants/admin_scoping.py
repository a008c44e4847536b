"""Admin pages a municipality's 管理者 may open, scoped to the municipalities they administer.

A superuser (the platform operator) sees every row. A 管理者 (who also needs Django's
`is_staff` flag to open the admin site) sees, changes and acts on only the rows of the
municipalities where they are 管理者, and may pick only those municipalities in a form.
Everyone else sees nothing. A model admin names the path from its rows to the municipality
(`municipality_path`); the rest is shared here so that no admin page forgets a filter.
"""

from django.contrib import admin

from madoguchi.tenants.models import Municipality

from .permissions import admin_municipality_ids


def administered_ids(request) -> set[int] | None:
    """Municipality ids the user administers; None for a superuser (no limit)."""
    if request.user.is_superuser:
        return None
    return admin_municipality_ids(request.user)


class MunicipalityScopedMixin:
    """Permissions and row filter by municipality, for a ModelAdmin or an inline.

    `municipality_path` is the lookup from a row to its municipality id (e.g.
    "business__municipality_id"); an inline's permission checks receive the parent object,
    so an inline names the parent's path in `parent_municipality_path`.
    """

    municipality_path = "municipality_id"
    parent_municipality_path: str | None = None

    def has_module_permission(self, request):
        return self._is_admin_staff(request) and self._administers_any(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_add_permission(self, request, *args):
        return self._may(request, None)

    def has_change_permission(self, request, obj=None):
        return self._may(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may(request, obj)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = administered_ids(request)
        if ids is None:
            return qs
        return qs.filter(**{f"{self.municipality_path.removesuffix('_id')}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ids = administered_ids(request)
        if ids is not None and db_field.related_model is Municipality:
            kwargs["queryset"] = Municipality.objects.filter(pk__in=ids)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _is_admin_staff(request) -> bool:
        return request.user.is_active and request.user.is_staff

    @staticmethod
    def _administers_any(request) -> bool:
        ids = administered_ids(request)
        return ids is None or bool(ids)

    def _may(self, request, obj) -> bool:
        if not self._is_admin_staff(request):
            return False
        ids = administered_ids(request)
        if ids is None:
            return True
        if obj is None:
            return bool(ids)
        return self._municipality_of(obj) in ids

    def _municipality_of(self, obj) -> int | None:
        path = self.parent_municipality_path or self.municipality_path
        value = obj
        for part in path.split("__"):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value


class MunicipalityScopedAdmin(MunicipalityScopedMixin, admin.ModelAdmin):
    """A ModelAdmin whose rows belong to a municipality."""
