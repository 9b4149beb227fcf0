"""REST views: parse, call one service or selector, render. Shapes match the socket's."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from chat import selectors, services
from chat.api import serializers as s
from chat.api.authentication import actor_for_request
from chat.exceptions import PermissionDenied, ValidationError
from chat.flows import flows
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.payloads import Viewer
from chat.services.translation_requests import message_translation_request

ERRORS = {400: s.ErrorOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 409: s.ErrorOut}


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _customer_out(customer) -> dict:
    return {
        "id": customer.pk,
        "name": customer.name,
        "email": customer.email,
        "locale": customer.locale,
        "identity_verified": customer.identity_verified,
    }


class WidgetSessionView(APIView):
    """Start or resume a widget visitor and get a signed visitor token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.WidgetSessionRequest,
        responses={200: s.WidgetSessionResponse, **ERRORS},
        tags=["widget"],
        summary="Create a visitor session",
        operation_id="widget_session_create",
    )
    def post(self, request):
        data = _valid(s.WidgetSessionRequest, request.data)
        customer, token = services.visitor_session_create(
            site_key=data["site_key"],
            origin=request.headers.get("Origin"),
            token=data.get("token") or None,
            external_id=data.get("external_id") or None,
            user_hash=data.get("user_hash") or None,
            name=data.get("name"),
            email=data.get("email"),
            locale=data.get("locale"),
        )
        return Response(
            {
                "token": token,
                "expires_in": settings.PARLEY["VISITOR_TOKEN_MAX_AGE"],
                "customer": _customer_out(customer),
                "websocket_path": "/ws/widget/",
            }
        )


class ConversationListView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, many=True, description="Filter by status.")],
        responses={200: s.ConversationListOut, **ERRORS},
        tags=["conversations"],
        summary="List the caller's conversations",
        operation_id="conversations_list",
    )
    def get(self, request):
        actor = actor_for_request(request)
        statuses = request.query_params.getlist("status") or None
        conversations = selectors.conversation_list_for_actor(actor=actor, statuses=statuses)
        return Response(
            {
                "results": [
                    conversation_payload(c, list(c.participants.all())) for c in conversations
                ]
            }
        )

    @extend_schema(
        request=s.ConversationStartRequest,
        responses={200: s.ConversationOut, 201: s.ConversationOut, **ERRORS},
        tags=["conversations"],
        summary="Start a conversation (customers), or get the open one",
        operation_id="conversations_start",
    )
    def post(self, request):
        actor = actor_for_request(request)
        data = _valid(s.ConversationStartRequest, request.data)
        conversation, created = flows.conversation_start(
            actor=actor, language=data.get("language"), subject=data.get("subject") or ""
        )
        return Response(
            conversation_payload(conversation),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationDetailView(APIView):
    @extend_schema(
        responses={200: s.ConversationOut, **ERRORS},
        tags=["conversations"],
        summary="Get a conversation",
        operation_id="conversations_retrieve",
    )
    def get(self, request, conversation_id: int):
        conversation = selectors.conversation_get_for_actor(
            actor=actor_for_request(request), conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))


def _int_param(request, name: str, default: int, maximum: int | None = None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValidationError(
            f"{name} must be an integer.", code="invalid_field", field=name
        ) from exc
    if value < 0 or (maximum is not None and value > maximum):
        raise ValidationError(f"{name} is out of range.", code="invalid_field", field=name)
    return value


class MessageListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("after_seq", int, description="Only messages with a greater seq."),
            OpenApiParameter("limit", int, description="At most this many (1-200, default 200)."),
        ],
        responses={200: s.MessagePageOut, **ERRORS},
        tags=["messages"],
        summary="Messages after a sequence number, in order",
        operation_id="messages_list",
    )
    def get(self, request, conversation_id: int):
        page = selectors.resume_page(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            after_seq=_int_param(request, "after_seq", 0),
            limit=max(1, _int_param(request, "limit", 200, maximum=200)),
        )
        return Response(page)

    @extend_schema(
        request=s.MessageSendRequest,
        responses={200: s.SendResultOut, 201: s.SendResultOut, **ERRORS},
        tags=["messages"],
        summary="Send a message (idempotent on client_msg_id)",
        operation_id="messages_send",
    )
    def post(self, request, conversation_id: int):
        data = _valid(s.MessageSendRequest, request.data)
        message, created = flows.message_send(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            body=data["body"],
            client_msg_id=data["client_msg_id"],
            choice=data.get("choice"),
        )
        # The sender's own view (their text, not the recipients' moderated copy).
        sender_view = Viewer.for_participant(message.sender)
        return Response(
            {"message": message_payload(message, viewer=sender_view), "duplicate": not created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SystemMessageView(APIView):
    @extend_schema(
        request=s.SystemMessageRequest,
        responses={200: s.SendResultOut, 201: s.SendResultOut, **ERRORS},
        tags=["integrations"],
        summary="Post a system message into a conversation (API key)",
        operation_id="system_messages_post",
    )
    def post(self, request, conversation_id: int):
        data = _valid(s.SystemMessageRequest, request.data)
        message, created = services.system_message_post(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            body=data["body"],
            client_msg_id=data.get("client_msg_id"),
            data=data.get("data"),
        )
        return Response(
            {"message": message_payload(message), "duplicate": not created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationResolveView(APIView):
    @extend_schema(
        request=None,
        responses={200: s.ConversationOut, **ERRORS},
        tags=["conversations"],
        summary="Resolve a conversation",
        operation_id="conversations_resolve",
    )
    def post(self, request, conversation_id: int):
        conversation = flows.conversation_resolve(
            actor=actor_for_request(request), conversation_id=conversation_id
        )
        return Response(conversation_payload(conversation))


class MessageTranslateView(APIView):
    @extend_schema(
        request=s.TranslateRequest,
        responses={202: s.TranslateOut, 200: s.TranslateOut, **ERRORS},
        tags=["conversations"],
        summary="Ask for one message in a language (agents); it arrives as message.updated",
        operation_id="messages_translate",
    )
    def post(self, request, conversation_id: int, seq: int):
        data = _valid(s.TranslateRequest, request.data)
        result = message_translation_request(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            seq=seq,
            language=data.get("language"),
        )
        code = status.HTTP_200_OK if result == "done" else status.HTTP_202_ACCEPTED
        return Response({"status": result}, status=code)


class ConversationEventsView(APIView):
    @extend_schema(
        responses={200: s.EventOut(many=True), **ERRORS},
        tags=["conversations"],
        summary="The conversation's lifecycle timeline (agents and services)",
        operation_id="conversations_events",
    )
    def get(self, request, conversation_id: int):
        actor = actor_for_request(request)
        if actor.kind == "customer":
            raise PermissionDenied("Customers cannot read the timeline.")
        events = selectors.conversation_events_for_actor(
            actor=actor, conversation_id=conversation_id
        )
        return Response(
            [
                {
                    "id": e.pk,
                    "type": e.type,
                    "from_status": e.from_status,
                    "to_status": e.to_status,
                    "reason": e.reason,
                    "actor": e.actor,
                    "data": e.data,
                    "created_at": e.created_at.isoformat(),
                }
                for e in events
            ]
        )
