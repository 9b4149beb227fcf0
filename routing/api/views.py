"""Queues over REST (API keys with queues:read, agents), with their live figures."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from chat.api.authentication import staff_actor_for_request
from chat.api.base import ApiView, Cursor
from chat.api.conversations import query
from chat.api.shapes import LIMIT_HELP, Page
from chat.exceptions import NotFound
from routing.figures import queue_figures
from routing.models import Queue

ORDERINGS = {"id": ("id",), "-id": ("-id",)}


class StaffOut(serializers.Serializer):
    subscribed = serializers.IntegerField()
    online = serializers.IntegerField()
    live = serializers.IntegerField(help_text="Online with a console heartbeat.")
    free = serializers.IntegerField(help_text="Live, skilled, with a free chat slot.")
    capacity = serializers.IntegerField()


class FiguresOut(serializers.Serializer):
    waiting = serializers.IntegerField()
    waiting_offline = serializers.IntegerField()
    offered = serializers.IntegerField()
    assigned = serializers.IntegerField()
    oldest_wait_seconds = serializers.FloatField(allow_null=True)
    agents = StaffOut()
    served_per_minute = serializers.FloatField()
    estimated_wait_seconds = serializers.FloatField(allow_null=True)
    waiting_limit = serializers.IntegerField(allow_null=True)
    sla_seconds = serializers.IntegerField()


class QueueOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_active = serializers.BooleanField()
    priority = serializers.IntegerField()
    language = serializers.CharField()
    required_skills = serializers.ListField(child=serializers.CharField())
    figures = FiguresOut()


class QueuePageOut(Page):
    results = QueueOut(many=True)


class QueueFilter(serializers.Serializer):
    active = serializers.BooleanField(required=False)
    ordering = serializers.ChoiceField(list(ORDERINGS), required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text=LIMIT_HELP
    )
    cursor = serializers.CharField(required=False)


def queue_out(queue: Queue, now) -> dict:
    return {
        "id": queue.pk,
        "name": queue.name,
        "is_active": queue.is_active,
        "priority": queue.priority,
        "language": queue.language,
        "required_skills": queue.required_skills,
        "figures": queue_figures(queue=queue, now=now),
    }


class QueueListView(ApiView):
    scope_resource = "queues"

    @extend_schema(
        parameters=[QueueFilter],
        responses={200: QueuePageOut},
        tags=["queues"],
        summary="List queues with their live figures",
        operation_id="queues_list",
    )
    def get(self, request):
        staff_actor_for_request(request, "queues")
        filters = query(QueueFilter, request)
        qs = Queue.objects.all()
        if "active" in filters:
            qs = qs.filter(is_active=filters["active"])
        cursor = Cursor(ORDERINGS, "id")
        now = timezone.now()
        return Response(
            cursor.envelope([queue_out(q, now) for q in cursor.page(qs, request, self)])
        )


class QueueDetailView(ApiView):
    scope_resource = "queues"

    @extend_schema(
        responses={200: QueueOut},
        tags=["queues"],
        summary="A queue with its live figures",
        operation_id="queues_retrieve",
    )
    def get(self, request, queue_id: int):
        staff_actor_for_request(request, "queues")
        queue = Queue.objects.filter(pk=queue_id).first()
        if queue is None:
            raise NotFound("No such queue.")
        return Response(queue_out(queue, timezone.now()))
