"""Agents over REST (API keys with agents:read, agents), with their presence."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agents.models import AgentPresence, AgentProfile
from chat.api.authentication import staff_actor_for_request
from chat.api.base import ApiView, Cursor
from chat.api.conversations import query
from chat.api.shapes import LIMIT_HELP, Page
from chat.exceptions import NotFound

ORDERINGS = {"id": ("id",), "-id": ("-id",)}


class PresenceOut(serializers.Serializer):
    status = serializers.ChoiceField(AgentPresence.Status.values)
    reason = serializers.CharField()
    live = serializers.BooleanField(help_text="A console sent a heartbeat recently.")
    load = serializers.IntegerField(help_text="Assigned open conversations plus open offers.")
    capacity = serializers.IntegerField()
    status_changed_at = serializers.DateTimeField(allow_null=True)
    last_heartbeat_at = serializers.DateTimeField(allow_null=True)


class AgentOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="The agent's user id.")
    name = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    skills = serializers.ListField(child=serializers.CharField())
    queues = serializers.ListField(child=serializers.IntegerField())
    presence = PresenceOut()


class AgentPageOut(Page):
    results = AgentOut(many=True)


class AgentFilter(serializers.Serializer):
    status = serializers.ChoiceField(AgentPresence.Status.values, required=False)
    queue = serializers.IntegerField(min_value=1, required=False)
    ordering = serializers.ChoiceField(list(ORDERINGS), required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text=LIMIT_HELP
    )
    cursor = serializers.CharField(required=False)


def agent_out(profile: AgentProfile, now) -> dict:
    presence = getattr(profile, "presence", None)
    return {
        "id": profile.user_id,
        "name": profile.display_name or profile.user.get_full_name() or profile.user.get_username(),
        "languages": profile.languages,
        "skills": profile.skills,
        "queues": sorted(q.pk for q in profile.queues.all()),
        "presence": {
            "status": presence.status if presence else AgentPresence.Status.OFFLINE,
            "reason": presence.reason if presence else AgentPresence.Reason.NEW,
            "live": bool(presence and presence.is_live(now)),
            "load": presence.load if presence else 0,
            "capacity": presence.capacity if presence else profile.max_concurrent_chats,
            "status_changed_at": presence.status_changed_at if presence else None,
            "last_heartbeat_at": presence.last_heartbeat_at if presence else None,
        },
    }


def _profiles():
    return AgentProfile.objects.select_related("user", "presence").prefetch_related("queues")


class AgentListView(ApiView):
    scope_resource = "agents"

    @extend_schema(
        parameters=[AgentFilter],
        responses={200: AgentPageOut},
        tags=["agents"],
        summary="List agents with their presence",
        operation_id="agents_list",
    )
    def get(self, request):
        staff_actor_for_request(request, "agents")
        filters = query(AgentFilter, request)
        qs = _profiles().filter(user__is_active=True)
        if "status" in filters:
            if filters["status"] == AgentPresence.Status.OFFLINE:
                qs = qs.exclude(presence__status__in=["online", "away"])
            else:
                qs = qs.filter(presence__status=filters["status"])
        if "queue" in filters:
            qs = qs.filter(queues=filters["queue"])
        cursor = Cursor(ORDERINGS, "id")
        now = timezone.now()
        return Response(
            cursor.envelope([agent_out(p, now) for p in cursor.page(qs, request, self)])
        )


class AgentDetailView(ApiView):
    scope_resource = "agents"

    @extend_schema(
        responses={200: AgentOut},
        tags=["agents"],
        summary="An agent with their presence",
        operation_id="agents_retrieve",
    )
    def get(self, request, user_id: int):
        staff_actor_for_request(request, "agents")
        profile = _profiles().filter(user_id=user_id, user__is_active=True).first()
        if profile is None:
            raise NotFound("No such agent.")
        return Response(agent_out(profile, timezone.now()))
