from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from org.access import signed_in_user
from org.models import ApiToken, Section, Subsystem, User
from org.tokens import token_revoke


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


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin[ApiToken]):
    """Read and revoke; keys are issued by their owners (token page, create_api_token)."""

    list_display = (
        "name",
        "owner",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "owner__username", "key_prefix")
    list_select_related = ("owner",)
    readonly_fields = [field.name for field in ApiToken._meta.get_fields() if field.concrete]
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoked tokens stay, so the page and the trail can name them

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("org.delete_apitoken")

    @admin.action(description="Revoke the selected tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = signed_in_user(request)
        for token in queryset:
            token_revoke(token_id=token.pk, actor=actor, as_administrator=True)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")
