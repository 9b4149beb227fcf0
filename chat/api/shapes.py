"""Request, filter and response shapes of the integration resources (conversations,
customers, API keys), for validation and the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from chat.api.fields import Id, Integer
from chat.api.serializers import (
    LOCALE,
    ConversationOut,
    JsonObject,
    MessageOut,
    MessageSendRequest,
    Moment,
    Text,
)
from chat.models import SCOPES, Conversation

LIMIT_HELP = "Page size, 1-200 (default 50)."

BIGINT_MAX = 2**63 - 1


class Page(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The previous page, or null.")


class ConversationFilter(serializers.Serializer):
    status = serializers.ListField(
        child=serializers.ChoiceField(Conversation.Status.values), required=False
    )
    queue = serializers.IntegerField(min_value=1, required=False)
    assignee = serializers.IntegerField(min_value=1, required=False)
    customer = serializers.IntegerField(min_value=1, required=False)
    site = serializers.IntegerField(min_value=1, required=False)
    tag = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        help_text="Only conversations with every tag given.",
    )
    created_after = Moment(required=False)
    created_before = Moment(required=False)
    q = Text(
        required=False,
        min_length=2,
        max_length=100,
        help_text="Text in the customer's name, email or external id, the subject or a "
        "message (any case).",
    )
    ordering = serializers.ChoiceField(
        ["-created_at", "created_at", "-id", "id"], required=False, help_text="Default -created_at."
    )
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text=LIMIT_HELP
    )
    cursor = serializers.CharField(required=False, help_text="From a page's next/previous link.")


class ConversationPageOut(Page):
    results = ConversationOut(many=True)


class ConversationCreateRequest(serializers.Serializer):
    customer = Id(required=False, help_text="API keys and supervisors: whose conversation.")
    language = Text(required=False, allow_blank=True, max_length=16, pattern=LOCALE)
    subject = Text(required=False, allow_blank=True, max_length=200)
    page_url = Text(required=False, allow_blank=True, max_length=2000)
    referrer = Text(required=False, allow_blank=True, max_length=2000)
    message = MessageSendRequest(
        required=False,
        help_text="The customer's first message, stored with the start (the conversation "
        "and its first message are made together or not at all): no agent is offered the "
        "conversation before its message is there.",
    )


class ConversationStartedOut(ConversationOut):
    message = MessageOut(
        required=False, help_text="With a first `message`: it as stored (the sender's view)."
    )


# PATCH /conversations/{id}/ (chat.services.details validates): any other field is a 400,
# so the schema closes the object.
CONVERSATION_UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "subject": {"type": "string", "maxLength": 200},
        "priority": {
            "type": "integer",
            "minimum": -100,
            "maximum": 100,
            "description": "Higher is served first.",
        },
    },
    "additionalProperties": False,
}


class HandoffRequest(serializers.Serializer):
    to_queue = Id(required=False, help_text="Default: the conversation's queue (the site's).")
    note = Text(required=False, allow_blank=True, max_length=1000, help_text="For the agents.")


class TransferRequest(serializers.Serializer):
    to_queue = Id(required=False)
    to_agent = Id(required=False)
    note = Text(required=False, allow_blank=True, max_length=1000)

    def validate(self, attrs):
        if ("to_queue" in attrs) == ("to_agent" in attrs):
            raise serializers.ValidationError(
                {"to_queue": "Give exactly one of to_queue or to_agent."}
            )
        return attrs


class TagsRequest(serializers.Serializer):
    add = serializers.ListField(
        child=Text(max_length=40, pattern=r"\S"), required=False, max_length=50
    )
    remove = serializers.ListField(
        child=Text(max_length=40, pattern=r"\S"), required=False, max_length=50
    )


class ResolveRequest(serializers.Serializer):
    reason = Text(required=False, allow_blank=True, max_length=200)


class CustomerRecordOut(serializers.Serializer):
    id = serializers.IntegerField()
    site = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    email = serializers.CharField()
    locale = serializers.CharField()
    attributes = serializers.DictField()
    identity_verified = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField(allow_null=True)


class CustomerPageOut(Page):
    results = CustomerRecordOut(many=True)


class CustomerFilter(serializers.Serializer):
    external_id = serializers.CharField(required=False, max_length=200)
    site = serializers.IntegerField(min_value=1, required=False)
    email = serializers.CharField(required=False, max_length=254)
    ordering = serializers.ChoiceField(["-id", "id"], required=False, help_text="Default -id.")
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text=LIMIT_HELP
    )
    cursor = serializers.CharField(required=False)


class CustomerUpdateRequest(serializers.Serializer):
    name = Text(required=False, allow_blank=True, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True)
    locale = Text(required=False, allow_blank=True, max_length=16, pattern=LOCALE)
    external_id = Text(required=False, allow_null=True, allow_blank=True, max_length=200)
    attributes = JsonObject(required=False)


class CustomerUpsertRequest(CustomerUpdateRequest):
    site = Id(required=False, help_text="Required unless the key is limited to a site.")
    external_id = Text(max_length=200, pattern=r"\S", help_text="Your system's id: the key.")


class ExportOut(serializers.Serializer):
    customer = CustomerRecordOut()
    conversations = serializers.ListField(child=serializers.DictField())
    exported_at = serializers.DateTimeField()


class EraseOut(serializers.Serializer):
    messages = serializers.IntegerField()
    blocked = serializers.IntegerField()
    conversations = serializers.IntegerField()
    webhook_events = serializers.IntegerField(
        help_text="Webhook events of their conversations blanked, with their delivery log."
    )


class ApiKeyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(
        help_text="The first characters of the secret, to tell keys apart."
    )
    site = serializers.IntegerField(allow_null=True)
    scopes = serializers.ListField(child=serializers.ChoiceField(SCOPES))
    owner = serializers.IntegerField(allow_null=True)
    is_active = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    rate_limit = serializers.CharField()
    daily_requests = serializers.IntegerField(allow_null=True)
    daily_bytes = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOut(ApiKeyOut):
    secret = serializers.CharField(
        allow_null=True,
        help_text="Shown this once; only its hash is stored (null in an idempotent replay).",
    )


class PageQuery(serializers.Serializer):
    ordering = serializers.ChoiceField(["-id", "id"], required=False, help_text="Default -id.")
    limit = serializers.IntegerField(
        min_value=1, max_value=200, required=False, help_text=LIMIT_HELP
    )
    cursor = serializers.CharField(required=False)


class ApiKeyPageOut(Page):
    results = ApiKeyOut(many=True)


class ApiKeyRequest(serializers.Serializer):
    name = Text(max_length=120)
    site = Id(required=False, allow_null=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(SCOPES),
        max_length=len(SCOPES),
        required=False,
        help_text="Left out: every scope (docs/api.md).",
    )
    owner = Id(required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    rate_limit = Text(
        required=False, allow_blank=True, max_length=32, help_text="e.g. 600/min; empty: default."
    )
    # PostgreSQL's bigint: a larger limit failed at the INSERT (a 500), not here.
    daily_requests = Integer(min_value=0, max_value=BIGINT_MAX, required=False, allow_null=True)
    daily_bytes = Integer(min_value=0, max_value=BIGINT_MAX, required=False, allow_null=True)
