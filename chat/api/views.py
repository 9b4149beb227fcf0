"""REST views: parse, call one service or selector, render. Shapes match the socket's."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from chat import selectors, services
from chat.api import serializers as s
from chat.api.authentication import actor_for_request
from chat.api.base import ApiView, Cursor
from chat.api.conversations import query, valid
from chat.exceptions import NotFound, PermissionDenied
from chat.flows import flows
from chat.payloads import conversation_payload, message_payload
from chat.pipeline.payloads import Viewer
from chat.services.translation_requests import message_translation_request

MESSAGE_ORDERINGS = {"seq": ("seq",), "-seq": ("-seq",)}
MESSAGE_PAGE_DEFAULT = 200
ERRORS = {400: s.ErrorOut, 401: s.ErrorOut, 403: s.ErrorOut, 404: s.ErrorOut, 409: s.ErrorOut}


def _customer_out(customer) -> dict:
    return {
        "id": customer.pk,
        "name": customer.name,
        "email": customer.email,
        "locale": customer.locale,
        "identity_verified": customer.identity_verified,
    }


class WidgetSessionView(ApiView):
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
        data = valid(s.WidgetSessionRequest, request.data)
        customer, token = services.visitor_session_create(
            site_key=data["site_key"],
            origin=services.embedding_origin(
                origin=request.headers.get("Origin"),
                own_host=request.get_host(),
                host_origin=data.get("host_origin") or None,
            ),
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
                "service": flows.service_notice(site_id=customer.site_id),
                # The site's pre-chat form was answered by this visitor (the widget asks once).
                "prechat_done": "prechat_at" in customer.attributes,
            }
        )


class MessageListView(ApiView):
    scope_resource = "messages"
    repeatable_params = ("sender_type",)

    @extend_schema(
        parameters=[s.MessagesQuery],
        responses={200: s.MessagePageOut, **ERRORS},
        tags=["messages"],
        summary="A conversation's messages: filters, seq ordering, cursor pages",
        description="Oldest first by default (`ordering=-seq`: newest first). `after_seq` "
        "resumes after a seq the caller holds; follow `next` until it is null.",
        operation_id="messages_list",
    )
    def get(self, request, conversation_id: int):
        actor = actor_for_request(request)
        filters = query(s.MessagesQuery, request, many=self.repeatable_params)
        conversation, qs = selectors.messages_filtered_for_actor(
            actor=actor,
            conversation_id=conversation_id,
            **{k: v for k, v in filters.items() if k not in ("ordering", "limit", "cursor")},
        )
        cursor = Cursor(MESSAGE_ORDERINGS, "seq")
        cursor.page_size = MESSAGE_PAGE_DEFAULT
        rows = cursor.page(qs, request, self)
        envelope = cursor.envelope(
            selectors.messages_payload(actor=actor, conversation=conversation, messages=rows)
        )
        return Response(
            {
                "conversation": conversation_payload(conversation),
                "messages": envelope["results"],
                "has_more": envelope["next"] is not None,
                "next": envelope["next"],
                "previous": envelope["previous"],
            }
        )

    @extend_schema(
        request=s.MessagePostRequest,
        responses={200: s.SendResultOut, 201: s.SendResultOut, **ERRORS},
        tags=["messages"],
        summary="Send a message (idempotent on client_msg_id)",
        description="Customers and agents send as themselves. API keys post as `system` "
        "(default), `bot`, or `agent` (with `agent`, a user id taking part in it), and may "
        "attach `data`.",
        operation_id="messages_send",
    )
    def post(self, request, conversation_id: int):
        actor = actor_for_request(request)
        if actor.kind == "service":
            return _service_post(request, actor, conversation_id)
        data = valid(s.MessageSendRequest, request.data)
        message, created = flows.message_send(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            body=data.get("body"),
            client_msg_id=data["client_msg_id"],
            choice=data.get("choice"),
            attachments=data.get("attachments"),
        )
        # The sender's own view (their text, not the recipients' moderated copy).
        sender_view = Viewer.for_participant(message.sender)
        return Response(
            {"message": message_payload(message, viewer=sender_view), "duplicate": not created},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class SystemMessageView(ApiView):
    scope_resource = "messages"

    @extend_schema(
        request=s.SystemMessageRequest,
        responses={200: s.SendResultOut, 201: s.SendResultOut, **ERRORS},
        tags=["integrations"],
        summary="Post a system message into a conversation (API key)",
        operation_id="system_messages_post",
    )
    def post(self, request, conversation_id: int):
        data = valid(s.SystemMessageRequest, request.data)
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


class MessageDetailView(ApiView):
    scope_resource = "messages"

    @extend_schema(
        responses={200: s.MessageOut, **ERRORS},
        tags=["messages"],
        summary="One message, by its seq (as the list shows it to the caller)",
        operation_id="messages_retrieve",
    )
    def get(self, request, conversation_id: int, seq: int):
        actor = actor_for_request(request)
        conversation, qs = selectors.messages_filtered_for_actor(
            actor=actor, conversation_id=conversation_id
        )
        found = qs.filter(seq=seq).first()
        if found is None:
            raise NotFound(f"No message {seq} in this conversation.")
        [payload] = selectors.messages_payload(
            actor=actor, conversation=conversation, messages=[found]
        )
        return Response(payload)


class MessageTranslateView(ApiView):
    scope_resource = "messages"

    @extend_schema(
        request=s.TranslateRequest,
        responses={202: s.TranslateOut, 200: s.TranslateOut, **ERRORS},
        tags=["conversations"],
        summary="Ask for one message in a language (agents); it arrives as message.updated",
        operation_id="messages_translate",
    )
    def post(self, request, conversation_id: int, seq: int):
        data = valid(s.TranslateRequest, request.data)
        result = message_translation_request(
            actor=actor_for_request(request),
            conversation_id=conversation_id,
            seq=seq,
            language=data.get("language"),
        )
        code = status.HTTP_200_OK if result == "done" else status.HTTP_202_ACCEPTED
        return Response({"status": result}, status=code)


class ConversationEventsView(ApiView):
    scope_resource = "conversations"

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


def _service_post(request, actor, conversation_id: int) -> Response:
    data = valid(s.ServiceMessageRequest, request.data)
    message, created = services.system_message_post(
        actor=actor,
        conversation_id=conversation_id,
        body=data.get("body"),
        client_msg_id=data["client_msg_id"],
        data=data.get("data"),
        sender_role=data.get("as") or "system",
        agent_id=data.get("agent"),
        attachments=data.get("attachments"),
    )
    return Response(
        {"message": message_payload(message), "duplicate": not created},
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )
