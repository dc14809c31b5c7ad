from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from org.models import Section, Subsystem, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "is_service_account", "is_staff", "is_active")
    list_filter = ("is_service_account", "is_staff", "is_active", "groups")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Service account", {"fields": ("is_service_account",)}),
    )


class SubsystemInline(admin.TabularInline):
    model = Subsystem
    extra = 0


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ("slug", "name")
    search_fields = ("slug", "name")
    filter_horizontal = ("leads",)
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SubsystemInline]


@admin.register(Subsystem)
class SubsystemAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "section", "is_critical")
    list_filter = ("section", "is_critical")
    search_fields = ("slug", "name")
    list_select_related = ("section",)
    prepopulated_fields = {"slug": ("name",)}
