"""What integrations keep of a conversation, erased with its customer (GDPR art. 17):
the outbox's event bodies (what a webhook sends, and what a replay sends again) and the
delivery log's request and response bodies, kept WEBHOOK_RETENTION_DAYS."""

from __future__ import annotations

from django.db.models import Q

from integrations.models import HookEvent, WebhookAttempt

ERASED = "[erased]"


def hooks_erase_for(*, conversation_ids: list[int]) -> int:
    """Blank every event of these conversations and the log of its deliveries; returns how
    many events. A delivery not sent yet still goes out, in its lane's order, with the
    erased body (``{"erased": true, "conversation": {"id": …}}``): a receiver learns that
    something happened, not what was said. One already on the wire cannot be called back.

    Locks: the events' rows are updated without touching a key (``body`` only), so the
    deliveries' and attempts' foreign-key checks (KEY SHARE) of a sender writing its log
    meanwhile pass; the attempts are only ever inserted by senders, never updated, so
    this is their only writer."""
    if not conversation_ids:
        return 0
    events = list(
        HookEvent.objects.filter(conversation_id__in=conversation_ids)
        .order_by("id")
        .values_list("id", "conversation_id", "type", "body")
    )
    events = [e for e in events if not ((e[3] or {}).get("data") or {}).get("erased")]
    for event_id, conversation_id, event_type, body in events:
        erased = {
            "type": event_type,
            "timestamp": (body or {}).get("timestamp"),
            "data": {"erased": True, "conversation": {"id": conversation_id}},
        }
        HookEvent.objects.filter(pk=event_id).update(body=erased)
    WebhookAttempt.objects.filter(
        Q(delivery__event__conversation_id__in=conversation_ids),
        ~Q(request_body=ERASED),
    ).update(request_body=ERASED, response_body="")
    return len(events)
