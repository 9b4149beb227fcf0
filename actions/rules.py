"""Automation rules at work: after an event commits, each enabled rule of its site listening
to it is admitted by its quotas, its conditions are read, and its actions run, each in its
own savepoint under the conversation's row lock (one failing action is recorded, the others
still run). Every run that matched is recorded on the conversation's timeline (``rule.run``),
and the run that pauses the rule over a quota (``rule.throttled``). Events the actions cause are one level
deeper (``chat.hooks.caused_by``), and past RULES_MAX_DEPTH no rule sees them, so rules that
trigger each other stop.

Rules run at most once per event: the event is claimed before they run, since their actions
(a message, a transfer) are not idempotent. Webhooks, not rules, are the at-least-once path.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from chat import hooks
from chat import services as chat
from chat.exceptions import Conflict, ParleyError
from chat.models import Conversation, Message, Participant
from chat.names import user_name
from integrations import rules as rule_format
from integrations.models import HookEvent, Rule
from integrations.services import metering
from integrations.services.outbox import rule_webhook_send
from routing.models import Queue, QueueEntry
from routing.services import conversation_released, entry_priority_set
from routing.services.assign import assign_waiting_locked
from routing.services.checks import target_agent
from routing.services.release import requeue_locked

logger = logging.getLogger(__name__)
Status = Conversation.Status


def rules_run(*, event_id: int) -> int:
    """Run the rules listening to one event (once: the event is claimed first), in one
    transaction on the conversation's locked row, each rule in its own savepoint. Returns
    how many matched."""
    if not HookEvent.objects.filter(pk=event_id, rules_pending=True).update(rules_pending=False):
        return 0
    event = HookEvent.objects.get(pk=event_id)
    rules = list(Rule.objects.filter(site_id=event.site_id, event=event.type, enabled=True))
    now = timezone.now()
    rules = [r for r in rules if not (r.paused_until and r.paused_until > now)]
    if not rules or event.conversation_id is None:
        return 0
    matched, ran, fired = 0, [], []
    with transaction.atomic():
        conversation = chat.conversation_lock(event.conversation_id)
        for rule in rules:
            try:
                with transaction.atomic():  # a savepoint: a broken rule undoes only itself
                    outcome = _run_one(rule, event, conversation, now)
                if outcome is not None:  # None: throttled, it did not run
                    ran.append(rule.pk)
                    matched += outcome
                    if outcome:
                        fired.append(rule.pk)
            except Exception:  # one broken rule must not stop the others
                logger.exception("rule %s failed on event %s", rule.pk, event.pk)
        Rule.objects.filter(pk__in=ran).update(
            runs=F("runs") + 1,
            fired=F("fired") + Case(When(pk__in=fired, then=Value(1)), default=Value(0)),
        )
    return matched


def _run_one(
    rule: Rule, event: HookEvent, conversation: Conversation, now: dt.datetime
) -> bool | None:
    """Whether the rule matched, or None when its quotas refused the run."""
    verdict = metering.rule_admit(rule)
    if not verdict.allowed:
        _pause(rule, conversation, verdict, now)
        return None
    started = time.perf_counter()
    # Read afresh per rule: an earlier rule's actions may have changed the conversation.
    ctx = rule_format.Context(body=event.body, conversation=conversation, now=now)
    ok = rule_format.holds(rule.conditions, ctx)
    if ok:
        with hooks.caused_by(depth=event.depth + 1, rule_id=rule.pk):
            results = [_act(rule, conversation, action, now) for action in rule.actions]
        chat.event_record(
            conversation=conversation,
            type="rule.run",
            reason=f"rule {rule.name!r} on {event.type}"[:200],
            actor=f"rule:{rule.pk}",
            data={"rule": rule.pk, "event": event.msg_id, "depth": event.depth,
                  "actions": results, "ms": int((time.perf_counter() - started) * 1000)},
        )  # fmt: skip
    spent = metering.rule_spent(rule, ms=int((time.perf_counter() - started) * 1000))
    if not spent.allowed:
        _pause(rule, conversation, spent, timezone.now())
    return ok


def _pause(
    rule: Rule, conversation: Conversation, verdict: metering.Verdict, now: dt.datetime
) -> None:
    """Over a quota: the rule sleeps until the window frees up; the others keep firing."""
    until = now + dt.timedelta(seconds=max(1.0, verdict.retry_after))
    Rule.objects.filter(pk=rule.pk).update(
        paused_until=until, limited_at=now, limited_reason=f"{verdict.limit} limit reached"
    )
    chat.event_record(
        conversation=conversation,
        type="rule.throttled",
        reason=f"rule {rule.name!r} paused: {verdict.limit} limit"[:200],
        actor=f"rule:{rule.pk}",
        data={"rule": rule.pk, "limit": verdict.limit, "until": until.isoformat()},
    )


def _act(rule: Rule, conversation: Conversation, action: dict[str, Any], now) -> dict[str, Any]:
    kind = action.get("type")
    try:
        with transaction.atomic():  # a savepoint: a failed action undoes only itself
            detail = EFFECTS[kind](rule, conversation, action, now)
        return {"type": kind, "ok": True, **({"detail": detail} if detail else {})}
    except ParleyError as exc:
        return {"type": kind, "ok": False, "error": str(exc)[:200]}


# --- the effects --------------------------------------------------------------------------------
def _tag(rule, conversation, action, now) -> str:
    tags = list(conversation.tags or [])
    for tag in action["tags"]:
        if tag not in tags:
            tags.append(tag)
    conversation.tags = tags[:50]
    Conversation.objects.filter(pk=conversation.pk).update(tags=conversation.tags)
    return ""


def _untag(rule, conversation, action, now) -> str:
    conversation.tags = [t for t in conversation.tags or [] if t not in action["tags"]]
    Conversation.objects.filter(pk=conversation.pk).update(tags=conversation.tags)
    return ""


def _priority(rule, conversation, action, now) -> str:
    conversation.priority = action["value"]
    Conversation.objects.filter(pk=conversation.pk).update(priority=action["value"])
    entry_priority_set(conversation_id=conversation.pk, priority=action["value"])
    chat.conversation_publish(conversation=conversation)
    return ""


def _open(conversation: Conversation) -> None:
    if not conversation.is_open:
        raise Conflict("The conversation is closed.")


def _transfer(rule, conversation, action, now) -> str:
    _open(conversation)
    queue = Queue.objects.filter(name=action["queue"], is_active=True).first()
    if queue is None:
        raise Conflict(f"No active queue named {action['queue']!r}.")
    from_id = conversation.assignee_id if conversation.status == Status.ASSIGNED else None
    requeue_locked(
        conversation=conversation,
        reason=f"transferred to {queue.name} by rule {rule.name}"[:200],
        now=now,
        queue=queue,
        exclude_agent_id=from_id,
    )
    chat.event_record(
        conversation=conversation,
        type="routing.transfer",
        reason=f"rule {rule.name}: transfer to queue {queue.name}"[:200],
        actor=f"rule:{rule.pk}",
        data={"from": from_id, "to_queue": queue.pk, "note": "", "via": "rule"},
    )
    chat.conversation_publish(conversation=conversation)
    return queue.name


_VARIABLE = re.compile(
    r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*(?:\|\s*default\s*:\s*(?:\"([^\"{}]*)\"|'([^'{}]*)')\s*)?\}\}"
)


def render(text: str, conversation: Conversation) -> str:
    """A reply's variables: {{customer.name}}, {{customer.email}}, {{agent.name}},
    {{conversation.id}}, each with an optional default for an empty value:
    {{customer.name|default:"there"}} (or 'there'). An empty one without a default is
    left out; an unknown one is left as written."""
    customer = conversation.customer
    agent = conversation.assignee
    values = {
        ("customer", "name"): customer.name or "",
        ("customer", "email"): customer.email or "",
        ("agent", "name"): user_name(agent) if agent else "",
        ("conversation", "id"): str(conversation.pk),
    }

    def fill(m: re.Match) -> str:
        value = values.get((m.group(1), m.group(2)))
        if value is None:
            return m.group(0)
        return value or m.group(3) or m.group(4) or ""

    return _VARIABLE.sub(fill, text)


def _post(rule, conversation, action, now) -> str:
    role = action.get("as", "bot")
    sender = chat.system_participant(conversation, role)
    message = chat.message_create(
        conversation=conversation,
        sender=sender,
        body=render(action["text"], conversation),
        kind=Message.Kind.BOT if role == Participant.Role.BOT else Message.Kind.SYSTEM,
        data={"rule": rule.pk},
    )
    return f"seq {message.seq}"


def _webhook(rule, conversation, action, now) -> str:
    return rule_webhook_send(rule=rule, conversation=conversation, endpoint_id=action["endpoint"])


def _assign(rule, conversation, action, now) -> str:
    if conversation.status not in Conversation.WAITING_STATUSES:
        raise Conflict(f"Only a waiting conversation is assigned (it is {conversation.status}).")
    user_id = (
        get_user_model()
        .objects.filter(username=action["agent"], is_active=True)
        .values_list("id", flat=True)
        .first()
    )
    if user_id is None:
        raise Conflict(f"No agent named {action['agent']!r}.")
    user = target_agent(user_id)  # an agent, with a presence row to take the slot on
    assign_waiting_locked(
        conversation=conversation,
        user=user,
        via=QueueEntry.Via.REASSIGN,
        actor_label=f"rule:{rule.pk}",
        now=now,
        require_online=False,
        reason=f"assigned by rule {rule.name}"[:200],
    )
    return user.get_username()


def _resolve(rule, conversation, action, now) -> str:
    _open(conversation)
    from_status = conversation.status
    chat.conversation_transition(
        conversation=conversation,
        to_status=Status.RESOLVED,
        reason=f"resolved by rule {rule.name}"[:200],
        actor=f"rule:{rule.pk}",
        resolved_at=now,
    )
    chat.event_message_post(
        conversation=conversation,
        body="Conversation resolved automatically.",
        data={"line": "resolved_plain"},
    )
    chat.conversation_publish(conversation=conversation)
    conversation_released(conversation=conversation, from_status=from_status, reason="resolved")
    return ""


EFFECTS = {
    "tag": _tag,
    "untag": _untag,
    "priority": _priority,
    "transfer": _transfer,
    "post": _post,
    "webhook": _webhook,
    "assign": _assign,
    "resolve": _resolve,
}
assert set(EFFECTS) == set(rule_format.ACTIONS)
