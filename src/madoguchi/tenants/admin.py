from django.contrib import admin

from .models import Department, Municipality, StaffMembership


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


@admin.register(Municipality)
class MunicipalityAdmin(admin.ModelAdmin):
    list_display = ["lg_code", "name", "prefecture", "is_active"]
    search_fields = ["lg_code", "name", "name_kana"]
    inlines = [DepartmentInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "municipality"]
    list_filter = ["municipality"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "municipality", "department", "role"]
    list_filter = ["municipality", "role"]
    autocomplete_fields = ["user"]
