"""Admin for agents: profiles (saving one refreshes what the router filters on), live
presence with a supervisor's status actions, and open console connections."""

from __future__ import annotations

from django.contrib import admin, messages

from agents.models import AgentConnection, AgentPresence, AgentProfile, CannedReply
from agents.services import agent_profile_sync
from chat.actors import Actor
from chat.admin_json import TEXTS, JSONShapes
from chat.exceptions import ParleyError
from chat.flows import flows


class PresenceInline(admin.StackedInline):
    model = AgentPresence
    fk_name = "profile"
    can_delete = False
    extra = 0
    fields = [
        "status",
        "reason",
        "away_reason",
        "live_until",
        "load",
        "capacity",
        "missed_in_a_row",
        "idle_since",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AgentProfile)
class AgentProfileAdmin(JSONShapes, admin.ModelAdmin):
    list_display = ["__str__", "user", "max_concurrent_chats", "languages", "skills"]
    list_filter = ["queues"]
    search_fields = ["display_name", "user__username", "user__email"]
    filter_horizontal = ["queues"]
    json_shapes = {"languages": TEXTS, "skills": TEXTS}
    inlines = [PresenceInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Capacity, skills and languages are copied where the router filters on them.
        agent_profile_sync(user=form.instance.user)


def _set(status: str):
    @admin.action(description=f"Set {status}")
    def action(modeladmin, request, queryset):
        for presence in queryset:
            try:
                flows.agent_presence_set(
                    actor=Actor.for_agent(request.user), status=status, user_id=presence.user_id
                )
            except ParleyError as exc:
                modeladmin.message_user(request, exc.message, messages.ERROR)
                return
        modeladmin.message_user(request, f"{queryset.count()} agent(s) set {status}.")

    action.__name__ = f"set_{status}"
    return action


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "status",
        "reason",
        "live_until",
        "load",
        "capacity",
        "missed_in_a_row",
        "idle_since",
        "console_lost_at",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["user__username", "profile__display_name"]
    readonly_fields = [f.name for f in AgentPresence._meta.fields]
    actions = [_set("online"), _set("away"), _set("offline")]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AgentConnection)
class AgentConnectionAdmin(admin.ModelAdmin):
    list_display = ["user", "channel_name", "connected_at", "last_heartbeat_at"]
    readonly_fields = ["user", "channel_name", "connected_at", "last_heartbeat_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    """Shared canned replies (no owner) for one site or all; agents' own ones too."""

    list_display = ["shortcut", "title", "site", "owner", "updated_at"]
    list_filter = ["site"]
    search_fields = ["shortcut", "title", "body"]
