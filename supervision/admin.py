"""Admin: the status page's incidents (entered and resolved by supervisors)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import F
from django.utils import timezone

from chat.admin_json import TEXTS, JSONShapes
from supervision.models import Incident
from supervision.status import COMPONENTS

COMPONENTS_HELP = (
    'Affected components, among {names}, e.g. ["chat"]; empty ([]) for Parley as a whole.'
).format(names=", ".join(f'"{name}" ({spec["label"]})' for name, spec in COMPONENTS.items()))


class IncidentForm(forms.ModelForm):
    """What the status page can show: components it knows (supervision.status.COMPONENTS,
    the page's own list: an unknown name was kept and matched nothing), and an end that is
    not before the start."""

    class Meta:
        model = Incident
        fields = [
            "site",
            "title",
            "message",
            "impact",
            "status",
            "components",
            "started_at",
            "resolved_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "components" in self.fields:
            self.fields["components"].help_text = COMPONENTS_HELP

    def clean_components(self):
        components = self.cleaned_data.get("components") or []
        unknown = [c for c in components if c not in COMPONENTS]
        if unknown:
            raise forms.ValidationError(
                "Unknown component(s): %(unknown)s. The status page's components are %(known)s.",
                code="unknown_component",
                params={
                    "unknown": ", ".join(map(str, unknown)),
                    "known": ", ".join(COMPONENTS),
                },
            )
        return list(dict.fromkeys(components))

    def clean(self):
        cleaned = super().clean()
        started, resolved = cleaned.get("started_at"), cleaned.get("resolved_at")
        if started is not None and resolved is not None and resolved < started:
            self.add_error(
                "resolved_at", "An incident cannot be resolved before it started (Started at)."
            )
        return cleaned


@admin.register(Incident)
class IncidentAdmin(JSONShapes, admin.ModelAdmin):
    form = IncidentForm
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
        # One entered ahead and not started yet ends at its start: it never shows, and
        # it is not resolved before it started.
        now = timezone.now()
        unresolved = queryset.filter(resolved_at__isnull=True)
        done = unresolved.filter(started_at__gt=now).update(
            resolved_at=F("started_at"), status=Incident.Status.RESOLVED
        )
        done += unresolved.update(resolved_at=now, status=Incident.Status.RESOLVED)
        self.message_user(request, f"{done} incident(s) resolved.")
