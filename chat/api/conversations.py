"""Conversations over REST: list (filters, ordering, cursor pages), get, create (a
customer's own, or for a customer by an API key or a supervisor), transfer, resolve,
reopen. Flows that cross apps go through chat.flows."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from chat import list_filters, selectors, services
from chat.actors import Actor
from chat.api import serializers as s
from chat.api import shapes
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView, Cursor, body_fields
from chat.exceptions import ParleyError, ValidationError
from chat.flows import flows
from chat.inbound import INT_MAX
from chat.models import Conversation
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.payloads import Viewer
from chat.services import tags

ORDERINGS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-id": ("-id",),
    "id": ("id",),
}


def conversation_out(conversation: Conversation, participants=None) -> dict:
    """The socket's conversation payload, plus what only integrations read (tags)."""
    return {
        **conversation_payload(conversation, participants),
        "tags": list(conversation.tags or []),
    }


def query(serializer_class, request, many: tuple[str, ...] = ()) -> dict:
    """Validate query parameters with a serializer (400 with the field on bad input). Every
    integer filter is bounded by 64 bits here, the one parser of the API's filters: an
    unbounded ``?queue=9223372036854775808`` reached the database (OverflowError on SQLite,
    a 500) where a bounded one (``/rules/?site=``) was a 400 naming it."""
    data = {}
    for name in serializer_class().fields:
        if name in many:
            values = request.query_params.getlist(name)
            if values:
                data[name] = values
        elif name in request.query_params:
            data[name] = request.query_params[name]
    serializer = serializer_class(data=data)
    for field in serializer.fields.values():
        _bound_to_64_bits(field)
        _bound_to_64_bits(getattr(field, "child", None))
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _bound_to_64_bits(field) -> None:
    if isinstance(field, serializers.IntegerField) and field.max_value is None:
        field.max_value = INT_MAX
        message = field.error_messages["max_value"].format(max_value=INT_MAX)
        field.validators.append(MaxValueValidator(INT_MAX, message=message))


def valid(
    serializer_class, data, *, partial: bool = False, read_only: tuple[str, ...] | None = None
) -> dict:
    """Validate a JSON body with a serializer (400 with the field on bad input). Most bodies
    ignore a field they do not know (docs/api.md, "Errors"); a body that is configuration
    passes ``read_only`` (the fields its answer shows but a client cannot set), and then any
    field not in the serializer is a 400 naming it, a read-only one said to be so."""
    if read_only is not None:
        known = serializer_class().fields
        for name in data:
            if name in read_only:
                raise ValidationError(f"{name} is read-only: it cannot be set.", field=name)
            if name not in known:
                raise ValidationError(
                    f"{name} is not a field of this body (it takes {', '.join(known)}).",
                    field=name,
                )
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ConversationListView(ApiView):
    scope_resource = "conversations"
    repeatable_params = ("status", "tag")

    @extend_schema(
        parameters=[shapes.ConversationFilter],
        responses={200: shapes.ConversationPageOut},
        tags=["conversations"],
        summary="List conversations the caller may see",
        description="Agents see open conversations unless a status is given. Cursor pages: "
        "follow `next` until it is null.",
        operation_id="conversations_list",
    )
    def get(self, request):
        actor = actor_for_request(request)
        filters = query(shapes.ConversationFilter, request, many=self.repeatable_params)
        if not filters.get("status") and actor.kind == "agent":
            filters["status"] = list(Conversation.OPEN_STATUSES)
        qs = list_filters.conversations_filtered_for_actor(
            actor=actor,
            **{k: v for k, v in filters.items() if k not in ("ordering", "limit", "cursor")},
        )
        cursor = Cursor(ORDERINGS, "-created_at")
        rows = cursor.page(qs, request, self)
        return Response(
            cursor.envelope([conversation_out(c, list(c.participants.all())) for c in rows])
        )

    @extend_schema(
        request=shapes.ConversationCreateRequest,
        responses={200: shapes.ConversationStartedOut, 201: shapes.ConversationStartedOut},
        tags=["conversations"],
        summary="Start a conversation: a customer's own, or for a customer (API key, supervisor)",
        description="Returns the customer's open conversation (200) if there is one, else a "
        "new one (201), greeted by the site's bot or queued.",
        operation_id="conversations_start",
    )
    def post(self, request):
        actor = actor_for_request(request)
        data = valid(shapes.ConversationCreateRequest, request.data)
        if actor.kind == "customer":
            starter = actor
        elif "customer" not in data:
            raise ValidationError(
                "customer is required: the customer to start a conversation for.",
                field="customer",
            )
        else:
            customer = selectors.customer_get_for_actor(actor=actor, customer_id=data["customer"])
            starter = Actor.for_customer(customer)
        # Where the customer started (the console's context panel); the user agent is the
        # request's own, never a field the caller chooses.
        visit = services.clean_visit(
            page_url=data.get("page_url"),
            referrer=data.get("referrer"),
            user_agent=request.headers.get("User-Agent", "") if actor.kind == "customer" else "",
        )
        start = {
            "actor": starter,
            "language": data.get("language"),
            "subject": data.get("subject") or "",
            "visit": visit,
            "started_by": None if actor.kind == "customer" else actor,
        }
        if "message" not in data:
            conversation, created = flows.conversation_start(**start)
            return Response(
                conversation_out(conversation),
                status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            )
        try:
            conversation, created, (message, _) = flows.conversation_start_with_message(
                message=data["message"], all_or_nothing=True, **start
            )
        except ParleyError as refused:
            # The message's own fields are named inside it, as the body has them.
            if refused.field in s.MessageSendRequest().fields:
                refused.field = f"message.{refused.field}"
            raise
        conversation.refresh_from_db()  # its last_seq and status, with the message
        out = conversation_out(conversation)
        out["message"] = message_payload(message, viewer=Viewer.for_participant(message.sender))
        return Response(out, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ConversationDetailView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Get a conversation",
        operation_id="conversations_retrieve",
    )
    def get(self, request, conversation_id: int):
        conversation = selectors.conversation_get_for_actor(
            actor=actor_for_request(request), conversation_id=conversation_id
        )
        return Response(conversation_out(conversation))

    @extend_schema(
        request={"application/json": shapes.CONVERSATION_UPDATE_SCHEMA},
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Change a conversation's subject or priority (agents and API keys)",
        description="Only the fields given change; any other field is a 400. A waiting "
        "conversation's place in line follows its new priority.",
        operation_id="conversations_update",
    )
    def patch(self, request, conversation_id: int):
        conversation = flows.conversation_update(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            values=body_fields(request),
        )
        return Response(conversation_out(conversation))


class ConversationResolveView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=shapes.ResolveRequest,
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Resolve a conversation (idempotent)",
        operation_id="conversations_resolve",
    )
    def post(self, request, conversation_id: int):
        data = valid(shapes.ResolveRequest, request.data)
        conversation = flows.conversation_resolve(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            reason=data.get("reason") or "",
        )
        return Response(conversation_out(conversation))


class ConversationReopenView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=None,
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Reopen a resolved or abandoned conversation and queue it again",
        operation_id="conversations_reopen",
    )
    def post(self, request, conversation_id: int):
        conversation = flows.conversation_reopen(
            actor=actor_for_request(request), conversation_id=conversation_id
        )
        return Response(conversation_out(conversation))


class ConversationTransferView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=shapes.TransferRequest,
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Transfer an assigned conversation to a queue or to an online agent",
        operation_id="conversations_transfer",
    )
    def post(self, request, conversation_id: int):
        data = valid(shapes.TransferRequest, request.data)
        conversation = flows.conversation_transfer(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            to_agent_id=data.get("to_agent"),
            to_queue_id=data.get("to_queue"),
            note=data.get("note") or "",
        )
        return Response(conversation_out(conversation))


class ConversationHandoffView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=shapes.HandoffRequest,
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Hand a conversation the bot is serving to people (supervisors, API keys)",
        description="The bot says its handoff line and stops; routing offers the conversation "
        "with the bot's summary (and `note`) for the agents. 409 `not_with_bot` otherwise.",
        operation_id="conversations_handoff",
    )
    def post(self, request, conversation_id: int):
        data = valid(shapes.HandoffRequest, request.data)
        conversation = flows.conversation_handoff(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            to_queue_id=data.get("to_queue"),
            note=data.get("note") or "",
        )
        return Response(conversation_out(conversation))


class ConversationTagsView(ApiView):
    scope_resource = "conversations"

    @extend_schema(
        request=shapes.TagsRequest,
        responses={200: s.ConversationOut},
        tags=["conversations"],
        summary="Add and remove tags (agents and API keys)",
        operation_id="conversations_tags",
    )
    def post(self, request, conversation_id: int):
        data = valid(shapes.TagsRequest, request.data)
        conversation = tags.conversation_tags_change(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            add=data.get("add", []),
            remove=data.get("remove", []),
        )
        return Response(conversation_out(conversation))
