"""Admin for routing: queues (rules), the live queue (entries, offers), and supervisors'
actions on conversations: reassign to an agent, send back to the queue, resolve, withdraw
an offer. Actions call services; nothing here writes a model directly."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.template.response import TemplateResponse
from django.utils import timezone

from chat.actors import Actor
from chat.admin_json import TEXTS, JSONShapes
from chat.exceptions import ParleyError
from chat.flows import flows
from chat.models import Conversation
from chat.names import user_name as agent_name
from routing import selectors, services
from routing.models import Queue, QueueEntry, Reservation, RoutedConversation


@admin.register(Queue)
class QueueAdmin(JSONShapes, admin.ModelAdmin):
    list_display = [
        "name",
        "priority",
        "is_active",
        "language",
        "required_skills",
        "sla_seconds",
        "offer_timeout_seconds",
        "limit_mode",
        "timezone",
    ]
    list_filter = ["is_active", "limit_mode", "moderation_policy"]
    search_fields = ["name"]
    json_shapes = {"required_skills": TEXTS}
    fieldsets = [
        (None, {"fields": ["name", "priority", "is_active"]}),
        ("Who may serve it", {"fields": ["required_skills", "language"]}),
        (
            "Waiting",
            {
                "fields": [
                    "sla_seconds",
                    "offer_timeout_seconds",
                    "limit_mode",
                    "max_waiting",
                    "floor_close",
                ]
            },
        ),
        ("Hours", {"fields": ["business_hours", "timezone"]}),
        ("When an agent's console is gone", {"fields": ["agent_lost_grace_seconds"]}),
        (
            "When the customer goes silent",
            {
                "fields": ["silence_nudge_seconds", "silence_close_seconds"],
                "description": "In an assigned chat: after the nudge delay the console "
                "offers the agent a one-click 'Are you still there?'; after the close "
                "delay (empty: never) a customer who stayed silent has the chat resolved.",
            },
        ),
        ("Moderation", {"fields": ["moderation_policy"]}),
    ]
    readonly_fields = ["floor_close"]

    @admin.display(description="Closed from the floor")
    def floor_close(self, obj: Queue) -> str:
        if not obj.pk or not obj.reopen_limit_mode:
            return "No"
        limit = Queue.LimitMode(obj.reopen_limit_mode).label
        if obj.reopen_limit_mode == Queue.LimitMode.FIXED:
            limit = f"{limit} ({obj.reopen_max_waiting})"
        return f"Yes: the floor's Open restores {limit}."

    def get_deleted_objects(self, objs, request):
        """A queue with history (entries, offers) is kept by PROTECT; Django said "your
        account doesn't have permission to delete … queue entry", as if it were a matter
        of rights. Say what it is, and what to do instead."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        kept = [
            q for q in objs if q.entries.exists() or Reservation.objects.filter(queue=q).exists()
        ]
        if kept:
            names = ", ".join(q.name for q in kept)
            self.message_user(
                request,
                f"Queues with history cannot be deleted ({names}): their conversations' "
                "records point to them. Deactivate them instead (untick Is active).",
                messages.ERROR,
            )
            perms_needed = {p for p in perms_needed if p not in ("queue entry", "reservation")}
            protected = [f"{q.name}: has history; deactivate it instead." for q in kept]
        return deleted, counts, perms_needed, protected


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(QueueEntry)
class QueueEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "conversation",
        "queue",
        "state",
        "mode",
        "priority",
        "enqueued_at",
        "sla_due_at",
        "offers",
        "assigned_agent",
        "via",
        "wait",
    ]
    list_filter = ["state", "mode", "queue", "via"]
    raw_id_fields = ["conversation"]
    date_hierarchy = "enqueued_at"

    @admin.display(description="wait (s)")
    def wait(self, obj: QueueEntry):
        seconds = obj.wait_seconds
        return None if seconds is None else round(seconds, 1)


def _actor(request) -> Actor:
    return Actor.for_agent(request.user)


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "conversation",
        "agent",
        "queue",
        "state",
        "attempt",
        "sticky",
        "offered_at",
        "expires_at",
        "decided_at",
        "end_reason",
    ]
    list_filter = ["state", "queue", "sticky"]
    raw_id_fields = ["conversation", "entry"]
    actions = ["withdraw"]

    @admin.action(description="Withdraw the selected open offers (the next agent gets them)")
    def withdraw(self, request, queryset):
        done = 0
        for reservation in queryset.filter(state=Reservation.State.OFFERED):
            try:
                done += services.offer_withdraw(
                    actor=_actor(request), reservation_id=reservation.pk
                )
            except ParleyError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return
        self.message_user(request, f"{done} offer(s) withdrawn.")


def _requirements(conversations) -> tuple[list[str], str]:
    """The skills every selected conversation's queue requires (its own queue, else its
    site's default one)."""
    skills: set[str] = set()
    for conversation in conversations:
        queue = conversation.queue or conversation.site.default_queue
        if queue is not None:
            skills.update(queue.required_skills or [])
    return sorted(skills), ""


def _steps(conversations) -> dict:
    skills, language = _requirements(conversations)
    return selectors.eligibility_steps(skills=skills, language=language, now=timezone.now())


def _agents():
    return get_user_model().objects.filter(agent_profile__isnull=False, is_active=True)


def why_not_eligible(user, conversations) -> str | None:
    """The first step of the router's eligibility ``user`` fails for these conversations,
    as a sentence; None when they may take them."""
    skills, _ = _requirements(conversations)
    steps = _steps(conversations)
    mine = _agents().filter(pk=user.pk)
    timeout = selectors.cfg("AGENT_HEARTBEAT_TIMEOUT")
    reasons = {
        "online": "is offline or away",
        "live": f"has no console open (no heartbeat within {timeout} s)",
        "matching": f"lacks the queue's skills ({', '.join(skills)})",
        "free": "has no free chat slot (at capacity)",
    }
    for step, q in steps.items():
        if not mine.filter(q).exists():
            return f"{agent_name(user)} {reasons[step]}."
    return None


class ReassignForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=_agents(),
        help_text="Online, with the console open, the queue's skills and a free chat slot.",
    )
    note = forms.CharField(required=False, widget=forms.Textarea, max_length=1000)

    def __init__(self, *args, conversations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.conversations = list(conversations)
        # Offered: the eligible agents only. Accepted: any agent, so that one who stopped
        # being eligible since the page was drawn is told why rather than "not a choice".
        eligible = (
            _agents().filter(_steps(self.conversations)["free"]).select_related("agent_profile")
        )
        self.fields["agent"].choices = [("", "---------")] + [
            (user.pk, agent_name(user)) for user in eligible.order_by("username")
        ]

    def clean_agent(self):
        user = self.cleaned_data["agent"]
        reason = why_not_eligible(user, self.conversations)
        if reason:
            raise forms.ValidationError(reason)
        return user


class OpenStatusFilter(admin.SimpleListFilter):
    """The statuses this page can hold: it lists open conversations only, so "Resolved" and
    "Abandoned" (offered by a plain status filter) could never match."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        labels = dict(Conversation.Status.choices)
        return [(status, labels[status]) for status in Conversation.OPEN_STATUSES]

    def queryset(self, request, queryset):
        if self.value() in Conversation.OPEN_STATUSES:
            return queryset.filter(status=self.value())
        return queryset


@admin.register(RoutedConversation)
class RoutedConversationAdmin(admin.ModelAdmin):
    """Open conversations as the floor sees them, with a supervisor's actions."""

    list_display = [
        "id",
        "customer",
        "status",
        "queue",
        "assignee",
        "priority",
        "queued_at",
        "assigned_at",
    ]
    list_filter = [OpenStatusFilter, "queue"]
    search_fields = ["customer__name", "customer__email", "subject"]
    actions = ["reassign", "requeue", "resolve"]
    readonly_fields = [f.name for f in Conversation._meta.fields]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(status__in=Conversation.OPEN_STATUSES)
            .select_related("customer", "queue", "assignee")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Reassign to an agent…")
    def reassign(self, request, queryset):
        queryset = queryset.select_related("queue", "site__default_queue")
        if "apply" in request.POST:
            form = ReassignForm(request.POST, conversations=queryset)
            if form.is_valid():
                done = 0
                for conversation in queryset:
                    try:
                        services.conversation_reassign(
                            actor=_actor(request),
                            conversation_id=conversation.pk,
                            to_agent_id=form.cleaned_data["agent"].pk,
                            note=form.cleaned_data["note"],
                        )
                        done += 1
                    except ParleyError as exc:
                        user = form.cleaned_data["agent"]
                        why = why_not_eligible(user, [conversation]) or exc.message
                        self.message_user(request, f"#{conversation.pk}: {why}", messages.ERROR)
                self.message_user(request, f"{done} conversation(s) reassigned.")
                return None
        else:
            form = ReassignForm(conversations=queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": "Reassign conversations",
            "form": form,
            "conversations": queryset,
            "action": "reassign",
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/routing/reassign.html", context)

    @admin.action(description="Send back to the queue")
    def requeue(self, request, queryset):
        done = 0
        for conversation in queryset:
            try:
                services.conversation_requeue(
                    actor=_actor(request), conversation_id=conversation.pk
                )
                done += 1
            except ParleyError as exc:
                self.message_user(request, f"#{conversation.pk}: {exc.message}", messages.ERROR)
        if done:  # only those that moved: one already waiting is refused above
            self.message_user(request, f"{done} conversation(s) sent back to the queue.")

    @admin.action(description="Resolve")
    def resolve(self, request, queryset):
        done = 0
        for conversation in queryset:
            try:
                flows.conversation_resolve(
                    actor=_actor(request),
                    conversation_id=conversation.pk,
                    reason="resolved from admin",
                )
                done += 1
            except ParleyError as exc:
                self.message_user(request, f"#{conversation.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} conversation(s) resolved.")
