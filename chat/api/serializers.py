"""Request and response shapes for the OpenAPI schema. Domain validation stays in the
services; these check types so that a wrong type gets a clear 400."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from chat.api.fields import Id
from chat.services.validation import CLIENT_MSG_ID_RE, LOCALE_RE

# Patterns the services check, declared here too so that the schema states them.
NOT_BLANK = r"\S"
LOCALE = LOCALE_RE.pattern + "|^$"
# What a refused pattern means, in words (the pattern itself is in the schema).
PATTERN_WORDS = {
    NOT_BLANK: "Must contain something other than spaces.",
    CLIENT_MSG_ID_RE.pattern: "Must be 1 to 64 of A-Z a-z 0-9 _ . : - (no spaces).",
    LOCALE: "Must be a language tag such as en, fr or pt-BR.",
}


class Moment(serializers.DateTimeField):
    """An ISO 8601 time, and only that: Python's parser takes ``2026-01-01T00:00:00\\x00``
    (any character stands for the ``T``, a trailing one is dropped), so control characters
    are refused before it sees them."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not value.isprintable():
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)


class JsonObject(serializers.DictField):
    """An object of the caller's (a message's ``data``, a customer's ``attributes``): stored
    as sent and carried in every read, push and webhook of it, so its size is bounded
    (``JSON_FIELD_MAX_BYTES``), not only the request's."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        limit = settings.PARLEY["JSON_FIELD_MAX_BYTES"]
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
        if size > limit:
            raise serializers.ValidationError(f"At most {limit} bytes of JSON (this is {size}).")
        return value


class Text(serializers.CharField):
    """A string, and only a string: DRF's CharField turns 30645 into "30645" (a probe's
    integer body was stored as text); the schema says string, so anything else is a 400.
    ``pattern`` adds a regex the schema states (drf-spectacular reads the validator)."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def __init__(self, *, pattern: str | None = None, **kwargs):
        super().__init__(**kwargs)
        if pattern:
            words = PATTERN_WORDS.get(pattern, f"Must match {pattern}.")
            self.validators.append(RegexValidator(pattern, words))

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class WidgetSessionRequest(serializers.Serializer):
    site_key = Text(max_length=64)
    token = Text(required=False, allow_blank=True, max_length=1000)
    external_id = Text(required=False, allow_blank=True, max_length=200)
    user_hash = Text(required=False, allow_blank=True, max_length=128)
    name = Text(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    locale = Text(required=False, allow_blank=True, max_length=16, pattern=LOCALE)
    host_origin = Text(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text="The embedding page's origin, sent by the widget's frame (same origin).",
    )


class CustomerOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.CharField()
    locale = serializers.CharField()
    identity_verified = serializers.BooleanField()


class ServiceNotice(serializers.Serializer):
    state = serializers.ChoiceField(choices=["up", "degraded", "down"])
    message = serializers.CharField(help_text="What the widget shows; empty when up.")


class WidgetSessionResponse(serializers.Serializer):
    token = serializers.CharField()
    expires_in = serializers.IntegerField()
    customer = CustomerOut()
    websocket_path = serializers.CharField()
    service = ServiceNotice(help_text="An open incident's notice (the status page).")
    prechat_done = serializers.BooleanField()


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


class AttachmentOut(serializers.Serializer):
    """An attachment: see docs/protocol.md, "Attachments". Links are relative to Parley's
    base URL, signed, and expire after ATTACHMENT_URL_TTL seconds."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField(help_text="Sniffed from the bytes.")
    kind = serializers.ChoiceField(["image", "file"])
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    url = serializers.CharField()
    thumbnail_url = serializers.CharField(allow_null=True)


class AttachmentFileRequest(serializers.Serializer):
    """An upload to a conversation named in the path (agents and API keys)."""

    file = serializers.FileField(help_text="The file (multipart/form-data).")


class AttachmentUploadRequest(AttachmentFileRequest):
    """The widget's upload: the conversation is optional (none before the first message)."""

    conversation = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**31 - 1,
        help_text="The visitor's conversation, if it has one.",
    )


class MessageOut(serializers.Serializer):
    """A message as the caller may see it: see docs/protocol.md, "Message"."""

    id = serializers.IntegerField()
    conversation = serializers.IntegerField()
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    body = serializers.CharField(help_text="The sender's own text for the sender; else moderated.")
    data = serializers.DictField()
    attachments = AttachmentOut(many=True)
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
    tags = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="In the conversations resources."
    )


class ConversationListOut(serializers.Serializer):
    results = ConversationOut(many=True)


class ConversationStartRequest(serializers.Serializer):
    language = Text(required=False, allow_blank=True, max_length=16, pattern=LOCALE)
    subject = Text(required=False, allow_blank=True, max_length=200)
    page_url = Text(required=False, allow_blank=True, max_length=2000)
    referrer = Text(required=False, allow_blank=True, max_length=2000)


class MessagePageOut(serializers.Serializer):
    conversation = ConversationOut()
    messages = MessageOut(many=True)
    has_more = serializers.BooleanField(help_text="Another page follows (next is not null).")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")


class MessageSendRequest(serializers.Serializer):
    client_msg_id = Text(max_length=64, pattern=CLIENT_MSG_ID_RE.pattern)
    body = Text(
        required=False,
        trim_whitespace=False,
        max_length=settings.PARLEY["MESSAGE_MAX_CHARS"],
        pattern=NOT_BLANK,
        help_text="Required unless the message has attachments.",
    )
    attachments = serializers.ListField(
        child=Text(max_length=64),
        required=False,
        max_length=100,
        help_text="Ids from POST /api/v1/widget/attachments/ or "
        "/api/v1/conversations/{id}/attachments/ (at most the site's count per message).",
    )
    choice = Text(
        required=False, min_length=1, max_length=64, help_text="The id of a bot button clicked."
    )


class ServiceMessageRequest(serializers.Serializer):
    """What an API key posts to /messages/ (customers and agents send MessageSendRequest)."""

    client_msg_id = Text(max_length=64, pattern=CLIENT_MSG_ID_RE.pattern)
    body = Text(
        required=False,
        trim_whitespace=False,
        max_length=settings.PARLEY["MESSAGE_MAX_CHARS"],
        pattern=NOT_BLANK,
    )
    agent = Id(required=False)
    data = JsonObject(required=False)
    attachments = serializers.ListField(child=Text(max_length=64), required=False, max_length=100)
    # In the endpoint's published schema (MessagePostRequest), so checked, not ignored as
    # an unknown field would be: a key that sends it expects a bot to act on it.
    choice = Text(required=False, min_length=1, max_length=64)

    def validate_choice(self, value: str) -> str:
        raise serializers.ValidationError(
            "Only a customer's message carries `choice` (the bot button clicked)."
        )


ServiceMessageRequest._declared_fields["as"] = serializers.ChoiceField(
    ["system", "bot", "agent"],
    required=False,
    help_text="Who the message is from (default system).",
)


class MessagePostRequest(MessageSendRequest):
    """The schema of POST /messages/: `choice` is for customers; `as`, `agent` and `data`
    are for API keys."""

    agent = Id(required=False)
    data = JsonObject(required=False)


MessagePostRequest._declared_fields["as"] = ServiceMessageRequest._declared_fields["as"]


class SystemMessageRequest(serializers.Serializer):
    body = Text(
        trim_whitespace=False, max_length=settings.PARLEY["MESSAGE_MAX_CHARS"], pattern=NOT_BLANK
    )
    client_msg_id = Text(max_length=64, required=False, pattern=CLIENT_MSG_ID_RE.pattern)
    data = JsonObject(required=False)


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


SEQ_MAX = 2**31 - 1


class MessagesQuery(serializers.Serializer):
    after_seq = serializers.IntegerField(
        min_value=0,
        max_value=SEQ_MAX,
        required=False,
        help_text="Only messages with a greater seq (default 0).",
    )
    before_seq = serializers.IntegerField(
        min_value=1, max_value=SEQ_MAX, required=False, help_text="Only messages with a lower seq."
    )
    sender_type = serializers.ListField(
        child=serializers.ChoiceField(["customer", "agent", "bot", "system"]),
        required=False,
        max_length=4,
        help_text="Only messages from these kinds of sender (repeat the parameter for several).",
    )
    since = Moment(required=False, help_text="Only messages created at or after this time.")
    until = Moment(required=False, help_text="Only messages created before this time.")
    ordering = serializers.ChoiceField(
        ["seq", "-seq"], required=False, help_text="Default seq (oldest first)."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text="At most this many (default 200)."
    )
    cursor = serializers.CharField(required=False, help_text="From a page's next/previous link.")


class ErrorBody(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class ErrorOut(serializers.Serializer):
    error = ErrorBody()


class TranslateRequest(serializers.Serializer):
    # The schema is made from the running settings: it names this server's languages.
    language = serializers.ChoiceField(
        choices=list(settings.PARLEY_PIPELINE["LANGUAGES"]),
        required=False,
        allow_blank=True,
        help_text="One of PIPELINE_LANGUAGES; left out: the agent's own.",
    )


class TranslateOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["queued", "done"])
