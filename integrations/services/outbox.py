"""The outbox: the core's integration events (chat.hooks) become rows in the transaction of
the change, only when a webhook or a rule of the site listens (the caller checked
``Site.hook_events``). After commit, the lanes and the rules are kicked; the sweepers in
``integrations.tasks`` catch anything a lost kick left behind."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from chat.events import HOOK_RULE_FIRED, HOOK_WEBHOOK_PING, HookEventType
from chat.exceptions import Conflict
from chat.flows import flows
from chat.hooks import conversation_hook_payload
from chat.models import Conversation
from chat.services import event_record
from integrations import conf, kick
from integrations.models import HookEvent, Rule, WebhookDelivery, WebhookEndpoint

LANE_TASK = "integrations.tasks.webhook_lane"
RULES_TASK = "actions.tasks.rules_run"


def new_msg_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def hook_sink(
    *,
    conversation: Conversation,
    event: HookEventType,
    body: dict[str, Any],
    depth: int,
    rule_id: int | None,
    hooks: dict[str, Any],
) -> None:
    """chat.hooks' listener: write the event and its deliveries with the change."""
    # Which endpoints get the event is kept on the site row, in the transaction of every
    # endpoint change (site_hooks_refresh): no query here.
    endpoints: list[int] = list(hooks.get("endpoints", {}).get(event.name, ()))
    rules = event.name in hooks.get("rules", ())
    if rules and depth >= conf.get("RULES_MAX_DEPTH"):
        # A chain of rules triggering each other stops here, and says so on the timeline.
        event_record(
            conversation=conversation,
            type="rule.depth_limit",
            reason=f"{event.name} not given to rules: {depth} rules deep",
            actor="rules",
            data={"event": event.name, "depth": depth, "rule": rule_id},
        )
        rules = False
    if not endpoints and not rules:
        return
    hook_event = HookEvent.objects.create(
        site_id=conversation.site_id,
        conversation=conversation,
        type=event.name,
        msg_id=new_msg_id(),
        body=body,
        depth=depth,
        rule_id=rule_id,
        rules_pending=rules,
    )
    deliveries_create(event=hook_event, endpoint_ids=endpoints)
    if rules:
        transaction.on_commit(partial(_rules_after_commit, hook_event.pk), robust=True)


def deliveries_create(
    *, event: HookEvent, endpoint_ids: list[int], replay_of: WebhookDelivery | None = None
) -> list[tuple[int, int]]:
    """Queue ``event`` to each endpoint (in the caller's transaction) and kick the lanes
    after commit. A lane is the conversation: its events go out one at a time, in order."""
    now = timezone.now()
    lane = event.conversation_id or -event.pk
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint_id=pk, event=event, lane=lane, next_attempt_at=now, replay_of=replay_of
            )
            for pk in endpoint_ids
        ]
    )
    lanes = [(pk, lane) for pk in endpoint_ids]
    if lanes:
        transaction.on_commit(partial(_kick_lanes, lanes), robust=True)
    return lanes


def _kick_lanes(lanes: list[tuple[int, int]]) -> None:
    for endpoint_id, lane in lanes:
        kick.kick(LANE_TASK, endpoint_id, lane)


def _rules_after_commit(event_id: int) -> None:
    if conf.get("RULES_DISPATCH") == "inline":
        flows.rules_run(event_id=event_id)  # actions.rules, bound at start-up
    else:
        kick.kick(RULES_TASK, event_id)


def rule_webhook_send(*, rule: Rule, conversation: Conversation, endpoint_id: int) -> str:
    """A rule's webhook action: a ``rule.fired`` event to one endpoint of the rule's site
    (whatever it subscribes to), in the rule's transaction."""
    endpoint = WebhookEndpoint.objects.filter(
        pk=endpoint_id, site_id=conversation.site_id, enabled=True
    ).first()
    if endpoint is None:
        raise Conflict(f"No enabled webhook endpoint {endpoint_id} on this site.")
    body = {
        "type": HOOK_RULE_FIRED.name,
        "timestamp": timezone.now().isoformat(),
        "data": {
            "conversation": conversation_hook_payload(conversation),
            "rule": {"id": rule.pk, "name": rule.name},
            "event": rule.event,
        },
    }
    event = HookEvent.objects.create(
        site_id=conversation.site_id,
        conversation=conversation,
        type=HOOK_RULE_FIRED.name,
        msg_id=new_msg_id(),
        body=body,
        rule=rule,
    )
    deliveries_create(event=event, endpoint_ids=[endpoint.pk])
    return event.msg_id


@transaction.atomic
def endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.ping`` to this endpoint: how an owner tests a receiver (its URL, its
    signature check) before real events flow. Sent, signed, retried and logged like any
    delivery, in a lane of its own, so it never waits behind a conversation's retries."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.enabled:
        raise Conflict("The endpoint is disabled; enable it first.", code="endpoint_disabled")
    event = HookEvent.objects.create(
        site_id=endpoint.site_id,
        conversation=None,
        type=HOOK_WEBHOOK_PING.name,
        msg_id=new_msg_id(),
        body={
            "type": HOOK_WEBHOOK_PING.name,
            "timestamp": timezone.now().isoformat(),
            "data": {"webhook": {"id": endpoint.pk, "site": endpoint.site_id}},
        },
    )
    deliveries_create(event=event, endpoint_ids=[endpoint.pk])
    return WebhookDelivery.objects.select_related("event").get(event=event)
