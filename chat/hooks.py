"""Integration events leave the core here: ``emit`` is called by the core's services, in the
transaction of the change (a status change, a message, a transfer), for the events declared
in ``chat.events.HOOK_EVENTS``.

The core does not know who listens: the integrations app connects its sink at start-up
(``IntegrationsConfig.ready``), which writes the outbox rows in the same transaction, so an
event that commits is never lost and one that rolls back is never sent. Whether anyone
listens is read from the site row (``Site.hook_events``, kept by the integrations
services), which the conversation's lock has already loaded: the send path of a site with no
webhook and no rule pays one dictionary lookup.

Rules run actions that emit events of their own; ``caused_by`` carries how deep in such a
chain the current code runs, so the rules' depth limit holds across transactions.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

from django.utils import timezone

from chat.events import HOOK_EVENTS, HookEventType
from chat.models import Conversation, Site
from chat.names import user_name

Sink = Callable[..., None]
_sinks: list[Sink] = []

# (depth, rule id) of the rule whose actions are running; (0, None) outside any rule.
_cause: contextvars.ContextVar[tuple[int, int | None]] = contextvars.ContextVar(
    "parley_hook_cause", default=(0, None)
)


def connect(sink: Sink) -> None:
    """Register a listener: ``sink(conversation=, event=, body=, depth=, rule_id=, hooks=)``
    (``hooks``: the site's ``hook_events``, as read for this event)."""
    if sink not in _sinks:
        _sinks.append(sink)


def current_depth() -> int:
    """How many causes deep the events emitted here are (0: a person or the system)."""
    return _cause.get()[0]


@contextlib.contextmanager
def caused_by(*, depth: int, rule_id: int | None) -> Iterator[None]:
    """Events emitted inside are one level deeper than the event that caused them: a rule's
    actions (``rule_id``), or the bot's reply to a customer's message (no rule)."""
    token = _cause.set((depth, rule_id))
    try:
        yield
    finally:
        _cause.reset(token)


def listened(site_hooks: dict[str, Any] | None, name: str) -> bool:
    hooks = site_hooks or {}
    return name in hooks.get("webhooks", ()) or name in hooks.get("rules", ())


def _site_hooks(conversation: Conversation) -> dict[str, Any]:
    if Conversation.site.is_cached(conversation):
        return conversation.site.hook_events or {}
    row = Site.objects.filter(pk=conversation.site_id).values_list("hook_events", flat=True)
    return row.first() or {}


def emit(*, conversation: Conversation, event: HookEventType, **data: Any) -> None:
    """Tell the listeners of ``event`` on the conversation's site, inside the caller's
    transaction (a no-op when nobody listens, the common case)."""
    if HOOK_EVENTS.get(event.name) is not event:
        raise ValueError(f"{event.name!r} is not declared in chat.events.HOOK_EVENTS")
    if set(data) != event.data:
        raise ValueError(f"{event.name}: fields {sorted(data)}, declared {sorted(event.data)}")
    site_hooks = _site_hooks(conversation) if _sinks else {}
    if not listened(site_hooks, event.name):
        return
    body = {
        "type": event.name,
        "timestamp": timezone.now().isoformat(),
        "data": {"conversation": conversation_hook_payload(conversation), **data},
    }
    depth, rule_id = _cause.get()
    for sink in _sinks:
        sink(
            conversation=conversation,
            event=event,
            body=body,
            depth=depth,
            rule_id=rule_id,
            hooks=site_hooks,
        )


def conversation_hook_payload(c: Conversation) -> dict[str, Any]:
    """What an integration sees of a conversation: its state and whom it concerns."""
    customer = c.customer
    assignee = None
    if c.assignee_id:
        user = c.assignee
        assignee = {"id": user.pk, "name": user_name(user)}
    return {
        "id": c.pk,
        "site": c.site_id,
        "status": c.status,
        "queue": {"id": c.queue_id, "name": c.queue.name} if c.queue_id else None,
        "assignee": assignee,
        "priority": c.priority,
        "language": c.language,
        "tags": list(c.tags or []),
        "subject": c.subject,
        "customer": {
            "id": customer.pk,
            "external_id": customer.external_id,
            "name": customer.name,
            "email": customer.email,
        },
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "last_seq": c.last_seq,
    }


def agent_payload(user) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user_name(user)}
