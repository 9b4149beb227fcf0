"""Admin: the status page's incidents (entered and resolved by supervisors)."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from chat.admin_json import TEXTS, JSONShapes
from supervision.models import Incident


@admin.register(Incident)
class IncidentAdmin(JSONShapes, admin.ModelAdmin):
    list_display = ["title", "site", "impact", "status", "started_at", "resolved_at"]
    list_filter = ["impact", "status", "site"]
    search_fields = ["title", "message"]
    json_shapes = {"components": TEXTS}
    actions = ["resolve"]

    def get_changeform_initial_data(self, request):
        return {"started_at": timezone.now()}

    @admin.action(description="Resolve now")
    def resolve(self, request, queryset):
        # An admin edit of configuration, not domain flow: no event hangs off an incident.
        done = queryset.filter(resolved_at__isnull=True).update(
            resolved_at=timezone.now(), status=Incident.Status.RESOLVED
        )
        self.message_user(request, f"{done} incident(s) resolved.")
