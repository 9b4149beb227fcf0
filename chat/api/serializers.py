"""Request and response shapes for the OpenAPI schema. Domain validation stays in the
services; these check types so that a wrong type gets a clear 400."""

from __future__ import annotations

from rest_framework import serializers


class WidgetSessionRequest(serializers.Serializer):
    site_key = serializers.CharField(max_length=64)
    token = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    user_hash = serializers.CharField(required=False, allow_blank=True, max_length=128)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    locale = serializers.CharField(required=False, allow_blank=True, max_length=16)


class CustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    locale = serializers.CharField()
    identity_verified = serializers.BooleanField()


class WidgetSessionResponse(serializers.Serializer):
    token = serializers.CharField()
    expires_in = serializers.IntegerField()
    customer = CustomerOut()
    websocket_path = serializers.CharField()


class SenderOut(serializers.Serializer):
    participant = serializers.IntegerField()
    role = serializers.CharField()
    name = serializers.CharField()


class TranslationOut(serializers.Serializer):
    state = serializers.ChoiceField(["pending", "done", "unavailable"])
    body = serializers.CharField(allow_null=True)


class MessageViewOut(serializers.Serializer):
    # "as" is a Python keyword: declared below.
    language = serializers.CharField(allow_null=True)


MessageViewOut._declared_fields["as"] = serializers.ChoiceField(["sender", "recipient"])


class MessageOut(serializers.Serializer):
    """A message as the caller may see it: see docs/protocol.md, "Message"."""

    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    body = serializers.CharField(help_text="The sender's own text for the sender; else moderated.")
    data = serializers.DictField()
    client_msg_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    sender = SenderOut()
    moderation = serializers.ChoiceField(["clean", "masked", "skipped"])
    language = serializers.CharField(allow_null=True)
    translation = serializers.ChoiceField(["off", "pending", "done", "unavailable", "none"])
    translations = serializers.DictField(child=TranslationOut())
    view = MessageViewOut()


class ParticipantOut(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    name = serializers.CharField()
    delivered_seq = serializers.IntegerField()
    read_seq = serializers.IntegerField()
    active = serializers.BooleanField()


class RefOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ConversationOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    site = serializers.IntegerField()
    customer = RefOut()
    queue = RefOut(allow_null=True)
    assignee = RefOut(allow_null=True)
    language = serializers.CharField()
    priority = serializers.IntegerField()
    subject = serializers.CharField()
    last_seq = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    queued_at = serializers.DateTimeField(allow_null=True)
    assigned_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    last_message_at = serializers.DateTimeField(allow_null=True)
    participants = ParticipantOut(many=True)


class ConversationListOut(serializers.Serializer):
    results = ConversationOut(many=True)


class ConversationStartRequest(serializers.Serializer):
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    subject = serializers.CharField(required=False, allow_blank=True, max_length=200)


class MessagePageOut(serializers.Serializer):
    conversation = ConversationOut()
    messages = MessageOut(many=True)
    has_more = serializers.BooleanField()


class MessageSendRequest(serializers.Serializer):
    client_msg_id = serializers.CharField(max_length=64)
    body = serializers.CharField(trim_whitespace=False)
    choice = serializers.CharField(
        required=False, min_length=1, max_length=64, help_text="The id of a bot button clicked."
    )


class SystemMessageRequest(serializers.Serializer):
    body = serializers.CharField(trim_whitespace=False)
    client_msg_id = serializers.CharField(max_length=64, required=False)
    data = serializers.DictField(required=False)


class SendResultOut(serializers.Serializer):
    message = MessageOut()
    duplicate = serializers.BooleanField()


class EventOut(serializers.Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.CharField()
    data = serializers.DictField()
    created_at = serializers.DateTimeField()


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorBody()


class TranslateRequest(serializers.Serializer):
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)


class TranslateOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "done"])
