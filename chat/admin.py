from urllib.parse import urljoin

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.html import escape

from chat import admin_json
from chat.actors import Actor
from chat.admin_json import TEXTS, JSONShapes
from chat.exceptions import ParleyError
from chat.flows import flows
from chat.models import (
    Attachment,
    BlockedMessage,
    Conversation,
    ConversationEvent,
    CsatRating,
    Customer,
    Message,
    MessageTranslation,
    Note,
    Participant,
    QuotaNotice,
    Site,
)
from chat.pipeline import conf as pipeline_conf

# Before any ModelAdmin below (or of the apps after chat) is made.
admin_json.install()


def embed_snippet(request, site: Site) -> str:
    """The tag a site pastes into its pages. The loader's plain URL (not the hashed name
    collectstatic also writes), so that a release reaches every site's pages; absolute, on
    the host and scheme this admin was reached by (a proxy's X-Forwarded-Proto included)."""
    src = request.build_absolute_uri(urljoin(settings.STATIC_URL, "parley/widget.js"))
    return f'<script src="{escape(src)}" data-site="{escape(site.key)}" async></script>'


class SiteForm(forms.ModelForm):
    def clean_languages(self):
        """Detection picks among these only with at least two the pipeline knows
        (chat.pipeline.detection.site_detection_settings): fewer, and the site silently
        got every language instead of what the form showed."""
        value = self.cleaned_data.get("languages") or []
        known = pipeline_conf.languages()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError('A list of languages, e.g. ["fr", "de"].')
        chosen = list(dict.fromkeys(v.strip().lower() for v in value))
        unknown = [v for v in chosen if v not in known]
        if unknown:
            raise forms.ValidationError(
                f"Not in PIPELINE_LANGUAGES: {', '.join(unknown)} (known: {', '.join(known)})."
            )
        if len(chosen) == 1:
            raise forms.ValidationError(
                f"At least two of {', '.join(known)}, or empty for all of them."
            )
        return chosen


@admin.register(Site)
class SiteAdmin(JSONShapes, admin.ModelAdmin):
    """A site's page begins with its embed snippet (templates/admin/chat/site/)."""

    form = SiteForm
    change_form_template = "admin/chat/site/change_form.html"
    list_display = [
        "name",
        "key",
        "default_queue",
        "default_flow",
        "require_identity",
        "created_at",
    ]
    list_filter = ["require_identity", "default_queue", "moderation_policy"]
    search_fields = ["name", "key"]
    readonly_fields = ["created_at"]
    json_shapes = {
        name: TEXTS
        for name in ("allowed_origins", "translation_glossary", "languages", "attachment_types")
    }

    class Media:
        css = {"all": ["parley/admin/admin.css"]}
        js = ["parley/admin/copy.js"]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            # As saved: a form sent back with errors carries the values it refused.
            saved = Site.objects.get(pk=obj.pk)
            context["embed"] = {
                "snippet": embed_snippet(request, saved),
                "origins": saved.allowed_origins,
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # hook_events is kept by the integrations services; the form's copy may be stale.
        fields = [f.name for f in Site._meta.concrete_fields if f.name not in ("id", "hook_events")]
        obj.save(update_fields=fields)


@admin.register(Customer)
class CustomerAdmin(JSONShapes, admin.ModelAdmin):
    list_display = [
        "__str__",
        "site",
        "email",
        "external_id",
        "identity_verified",
        "locale",
        "last_seen_at",
    ]
    list_filter = ["site", "identity_verified", "locale"]
    search_fields = ["name", "email", "external_id"]
    readonly_fields = ["created_at", "last_seen_at"]
    actions = ["erase"]

    def get_actions(self, request):
        # Deleting a customer who wrote anything is refused (their messages are protected:
        # the conversations stay, for the agents' side and the reports): erase instead.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Erase the selected customers' personal data (GDPR)…")
    def erase(self, request, queryset):
        if "apply" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase customers' personal data",
                "customers": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/chat/customer/erase.html", context)
        actor = Actor.for_agent(request.user)
        done = 0
        for customer in queryset:
            try:
                flows.customer_erase(actor=actor, customer=customer)
                done += 1
            except ParleyError as exc:
                self.message_user(request, f"{customer}: {exc.message}", messages.ERROR)
        self.message_user(
            request,
            f"{done} customer(s) erased: name, email, ids and what they wrote are gone; "
            "their conversations stay, with the agents' side and the timeline.",
        )
        return None


class ParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    fields = [
        "role",
        "customer",
        "user",
        "delivered_seq",
        "read_seq",
        "language",
        "joined_at",
        "left_at",
    ]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    # Supervisors see the original (body) beside what the other side read.
    fields = ["seq", "kind", "sender", "body", "body_moderated", "moderation", "language", "created_at"]  # fmt: skip
    readonly_fields = fields
    can_delete = False
    ordering = ["seq"]

    def has_add_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = ConversationEvent
    extra = 0
    fields = ["created_at", "type", "from_status", "to_status", "reason", "actor", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class NoteInline(admin.TabularInline):
    """Internal notes (agents only), written through the console's services."""

    model = Note
    extra = 0
    fields = ["created_at", "kind", "author_name", "body", "data"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-mostly: state changes go through services (the console, the API)."""

    list_display = [
        "id",
        "status",
        "site",
        "customer",
        "queue",
        "assignee",
        "priority",
        "language",
        "last_seq",
        "created_at",
        "last_message_at",
    ]
    list_filter = ["status", "site", "queue", "language", "priority"]
    search_fields = ["id", "customer__name", "customer__email", "subject"]
    date_hierarchy = "created_at"
    list_select_related = ["site", "customer", "queue", "assignee"]
    readonly_fields = [f.name for f in Conversation._meta.fields]
    inlines = [ParticipantInline, MessageInline, NoteInline, EventInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Conversations are records (reports add them up); a customer's data is erased
        # through GDPR erasure (Customers, or the API), not by deleting rows. Supervisors
        # get no delete, one by one or in bulk; a superuser keeps Django's.
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class MessageTranslationInline(admin.TabularInline):
    model = MessageTranslation
    extra = 0
    fields = ["language", "state", "body", "engine", "attempts", "error", "next_attempt_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Supervisors and audit: the original, the recipients' copy, what the word lists
    matched, the detected language and the translations. Filter on "flagged" for the
    review queue of the "flag" moderation policy."""

    list_display = [
        "conversation", "seq", "kind", "sender", "short_body", "moderation", "language",
        "created_at",
    ]  # fmt: skip
    list_filter = ["moderation", "kind", "language", "created_at"]
    search_fields = ["body", "client_msg_id"]
    list_select_related = ["sender"]
    readonly_fields = [f.name for f in Message._meta.fields]
    inlines = [MessageTranslationInline]

    @admin.display(description="body")
    def short_body(self, obj):
        return obj.body[:80]

    def has_add_permission(self, request):
        return False


@admin.register(BlockedMessage)
class BlockedMessageAdmin(admin.ModelAdmin):
    """Messages the "block" policy refused: never delivered, kept for audit."""

    list_display = ["conversation", "sender", "short_body", "attempts", "created_at"]
    list_select_related = ["sender"]
    readonly_fields = [f.name for f in BlockedMessage._meta.fields]

    @admin.display(description="body")
    def short_body(self, obj):
        return obj.body[:80]

    def has_add_permission(self, request):
        return False


@admin.register(ConversationEvent)
class ConversationEventAdmin(admin.ModelAdmin):
    list_display = [
        "conversation",
        "type",
        "from_status",
        "to_status",
        "reason",
        "actor",
        "created_at",
    ]
    list_filter = ["type", "to_status"]
    search_fields = ["reason", "actor"]
    readonly_fields = [f.name for f in ConversationEvent._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(QuotaNotice)
class QuotaNoticeAdmin(admin.ModelAdmin):
    """Quotas reached by API keys, webhook endpoints and rules: one row per owner, limit and
    window (chat.services.quota_notices)."""

    list_display = ["created_at", "kind", "owner_id", "limit", "message", "seen"]
    list_filter = ["seen", "kind", "limit"]
    list_editable = ["seen"]
    readonly_fields = ["kind", "owner_id", "limit", "window_start", "message", "emailed_to"]

    def has_add_permission(self, request):
        return False


@admin.register(CsatRating)
class CsatRatingAdmin(admin.ModelAdmin):
    """The ratings customers gave after agents' chats (the average per agent is in the
    report, GET /api/v1/reports/csat/)."""

    list_display = ("conversation", "score", "agent", "site", "created_at")
    list_filter = ("score", "site", "agent")
    search_fields = ("comment",)
    readonly_fields = ("conversation", "site", "agent", "score", "comment", "created_at")

    def has_add_permission(self, request) -> bool:
        return False  # given by customers only


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    """Read only: attachments are written by chat.services.attachments alone."""

    list_display = ["name", "kind", "content_type", "size", "site", "conversation", "created_at"]
    list_filter = ["kind", "content_type", "site"]
    search_fields = ["name", "uploader"]
    raw_id_fields = ["conversation", "message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# API keys' admin is in its own module (this one's size); registered with the rest.
from chat import admin_api_keys  # noqa: E402, F401
