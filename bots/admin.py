"""Flows in admin: the draft is edited as JSON, validated on save with one message per
problem, drawn as a diagram, and published with "Save and publish". Versions, sessions
and variant counts are read-only."""

from __future__ import annotations

import copy
import json

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from bots.diagram import flow_svg
from bots.models import BotSession, Flow, FlowVersion, VariantStat
from bots.services import FlowInvalid, flow_export, flow_publish, flow_validate
from chat.admin_json import OBJECT, StoredJSONField

# A new flow's draft: the smallest useful flow, valid as it is (a handoff without a queue
# goes to the conversation's site's default queue; "queue": "<name>" picks another).
STARTER_FLOW = {
    "start": "greet",
    "default_language": "en",
    "nodes": {
        "greet": {"type": "message", "text": "Hi! Welcome.", "next": "ask"},
        "ask": {
            "type": "choice",
            "text": "How can we help?",
            "buttons": [
                {"id": "person", "label": "Talk to someone", "next": "handoff"},
                {"id": "browsing", "label": "Just browsing", "next": "bye"},
            ],
        },
        "handoff": {"type": "handoff", "text": "Connecting you with a person."},
        "bye": {"type": "end", "text": "Thanks for stopping by!"},
    },
}
NODE_TYPES_DOC = "docs/architecture.md, section “Bots (bots/)”, item “The graph”"


class FlowForm(forms.ModelForm):
    draft = StoredJSONField(
        shape=OBJECT,
        help_text=format_html(
            "The graph as JSON: <code>start</code>, <code>nodes</code> (id → node), "
            "<code>default_language</code>. Node types: message, choice, input, intent, "
            "condition, action, handoff (without <code>queue</code>: the site's default "
            "queue), end; their fields: {}. It is validated when you save; “Save and "
            "publish” makes it the version new conversations start.",
            NODE_TYPES_DOC,
        ),
    )

    class Meta:
        model = Flow
        fields = ["name", "slug", "description", "goal", "draft"]

    def clean_draft(self):
        graph = self.cleaned_data["draft"]
        errors = flow_validate(graph=graph)  # the services' check: the API's messages
        if errors:
            raise forms.ValidationError(
                [f"{e['path'] or 'graph'}: {e['message']}" for e in errors[:50]]
            )
        return graph


def _variant_table(stats: list[VariantStat]) -> str:
    if not stats:
        return "No variant has been shown yet."
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                s.node,
                s.variant,
                s.shown,
                s.converted,
                "-" if s.conversion_rate is None else f"{s.conversion_rate:.1%}",
                f"{(1 + s.converted) / (2 + s.shown):.1%}",
            )
            for s in stats
        ),
    )
    return format_html(
        "<table><thead><tr><th>node</th><th>variant</th><th>shown</th><th>converted</th>"
        "<th>conversion rate</th><th>posterior mean</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


def _diagram(graph) -> str:
    return format_html(
        '<div style="overflow:auto;max-width:100%;border:1px solid #ddd;background:#fff">{}</div>',
        mark_safe(flow_svg(graph)),  # flow_svg escapes every graph string
    )


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    form = FlowForm
    change_form_template = "admin/bots/flow/change_form.html"
    list_display = ["name", "slug", "goal", "published", "versions_count", "updated_at"]
    search_fields = ["name", "slug"]
    readonly_fields = ["published", "diagram", "variant_stats"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "description", "goal", "published"]}),
        ("Graph", {"fields": ["draft", "diagram"]}),
        ("Variants (Thompson sampling on the goal)", {"fields": ["variant_stats"]}),
    ]
    actions = ["publish_selected", "export_selected"]
    prepopulated_fields = {"slug": ["name"]}

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("draft", copy.deepcopy(STARTER_FLOW))
        return initial

    @admin.display(description="published version")
    def published(self, obj: Flow) -> str:
        if not obj.pk or not obj.published_version_id:
            return "not published"
        version = obj.published_version
        return f"v{version.number} ({version.created_at:%Y-%m-%d %H:%M})"

    @admin.display(description="versions")
    def versions_count(self, obj: Flow) -> int:
        return obj.versions.count()

    @admin.display(description="diagram of the draft")
    def diagram(self, obj: Flow) -> str:
        return _diagram(obj.draft) if obj.pk else "Save the flow to see its diagram."

    @admin.display(description="per-variant counts")
    def variant_stats(self, obj: Flow) -> str:
        return _variant_table(list(obj.variant_stats.all())) if obj.pk else ""

    def _publish(self, request, flow: Flow) -> None:
        before = flow.published_version_id
        try:
            version = flow_publish(flow=flow, published_by=request.user.get_username())
        except FlowInvalid as exc:
            # Every problem, as the form lists them: the draft may have been valid when it
            # was saved and not now (a queue it hands off to was deleted since).
            problems = "; ".join(f"{e['path'] or 'graph'}: {e['message']}" for e in exc.errors[:10])
            self.message_user(request, f"{flow} was not published: {problems}", messages.ERROR)
            return
        if version.pk == before:
            self.message_user(
                request,
                f"{flow}: the draft is version {version.number} as published; nothing changed.",
                messages.INFO,
            )
            return
        self.message_user(
            request,
            f"{flow} is published as version {version.number}; running conversations keep "
            "the version they started with.",
            messages.SUCCESS,
        )

    def response_add(self, request, obj, post_url_continue=None):
        if "_publish" in request.POST:
            self._publish(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            self._publish(request, obj)
        return super().response_change(request, obj)

    @admin.action(description="Publish the drafts of the selected flows")
    def publish_selected(self, request, queryset):
        for flow in queryset:
            self._publish(request, flow)

    @admin.action(description="Export the selected flow as a JSON file")
    def export_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one flow to export.", messages.WARNING)
            return None
        flow = queryset.first()
        response = HttpResponse(
            json.dumps(flow_export(flow=flow), indent=2, ensure_ascii=False),
            content_type="application/json",
        )
        response["Content-Disposition"] = f'attachment; filename="{flow.slug}.flow.json"'
        return response


@admin.register(FlowVersion)
class FlowVersionAdmin(admin.ModelAdmin):
    list_display = ["flow", "number", "published_by", "created_at", "sessions"]
    list_filter = ["flow"]
    readonly_fields = ["flow", "number", "published_by", "created_at", "diagram", "graph_json"]
    exclude = ["graph"]

    @admin.display(description="conversations")
    def sessions(self, obj: FlowVersion) -> int:
        return obj.sessions.count()

    @admin.display(description="diagram")
    def diagram(self, obj: FlowVersion) -> str:
        return _diagram(obj.graph)

    @admin.display(description="graph")
    def graph_json(self, obj: FlowVersion) -> str:
        return format_html(
            "<pre style='max-height:40em;overflow:auto'>{}</pre>",
            json.dumps(obj.graph, indent=2, ensure_ascii=False),
        )

    def has_add_permission(self, request) -> bool:
        return False  # versions come from publishing

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # immutable


@admin.register(VariantStat)
class VariantStatAdmin(admin.ModelAdmin):
    list_display = ["flow", "node", "variant", "shown", "converted", "rate"]
    list_filter = ["flow"]

    @admin.display(description="conversion rate")
    def rate(self, obj: VariantStat) -> str:
        return "-" if obj.conversion_rate is None else f"{obj.conversion_rate:.1%}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BotSession)
class BotSessionAdmin(admin.ModelAdmin):
    list_display = ["conversation", "version", "node", "awaiting", "state", "intent", "steps"]
    list_filter = ["state", "version__flow"]
    readonly_fields = [f.name for f in BotSession._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
