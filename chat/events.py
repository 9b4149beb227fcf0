"""The event registry: every frame the server sends a socket, declared once (its name, its
fields and who receives it). Zulip's ``zerver/lib/event_types.py`` is the model.

``chat.realtime`` refuses to publish a frame the registry does not declare, and the
consumers check their direct replies the same way, so a new frame cannot reach a client
without an entry here; ``tests/test_docs.py`` holds docs/protocol.md equal to this table
both ways, and ``tests/events/`` performs each event's real action and checks the frame
every recipient gets (Zulip's ``verify_action``).

Fields are the frame's top-level keys besides ``type``: ``required`` are always present,
``optional`` only in some cases (a console's extras, the reason of a closed queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Who receives a frame, in words the docs test can match: "the socket" is a reply to the
# frame that socket sent; the rest are principal groups (chat.recipients).
SOCKET = "the socket that asked"
PARTICIPANTS = "the conversation's participants' sockets (every tab of each)"
PARTICIPANTS_AND_LOBBY = "the conversation's participants and the agents' consoles"
AGENT = "the agent's consoles"
CUSTOMER = "the customer's widget tabs"
FLOOR = "the staff's floor dashboard sockets (/ws/floor/)"
WATCHERS = "and the floor sockets following the conversation"
CONVERSATION_AGENTS = (
    "the conversation's agents' consoles, and the agents' consoles while it waits; never a customer"
)


@dataclass(frozen=True)
class EventType:
    name: str
    required: frozenset[str]
    optional: frozenset[str]
    recipients: str
    broadcast: bool  # published through the layer (True) or a direct reply (False)

    @property
    def fields(self) -> frozenset[str]:
        return self.required | self.optional


REGISTRY: dict[str, EventType] = {}


def _declare(
    name: str, required: str, *, optional: str = "", to: str, broadcast: bool = True
) -> EventType:
    event = EventType(
        name=name,
        required=frozenset(required.split()),
        optional=frozenset(optional.split()),
        recipients=to,
        broadcast=broadcast,
    )
    REGISTRY[name] = event
    return event


# --- direct replies ------------------------------------------------------------------------
HELLO = _declare(
    "hello",
    "role heartbeat_interval server_time conversations translation push",
    # a console's: its open offers and presence back; a widget's: the service notice;
    # ref: the answer to hello.request
    optional="offers presence service ref",
    to=SOCKET,
    broadcast=False,
)
PONG = _declare(
    "pong", "ref t server_time last_seq push", optional="offers", to=SOCKET, broadcast=False
)
MESSAGE_ACCEPTED = _declare(
    "message.accepted",
    "ref conversation client_msg_id message_id seq created_at duplicate",
    to=SOCKET,
    broadcast=False,
)
MESSAGES_BATCH = _declare(
    "messages.batch", "ref conversation messages has_more", to=SOCKET, broadcast=False
)
CONVERSATION_STARTED = _declare(
    "conversation.started", "ref conversation created", to=SOCKET, broadcast=False
)
ACK = _declare(
    "ack",
    "ref for",
    optional="conversation reservation status",
    to=SOCKET,
    broadcast=False,
)
ERROR = _declare("error", "code message", optional="ref field", to=SOCKET, broadcast=False)

# --- conversations and messages -------------------------------------------------------------
# Every message payload (message.new, message.updated, resume, REST) has ``attachments``: a
# list of objects with these keys (chat/attachment_links.py; docs/protocol.md "Attachments").
ATTACHMENT_FIELDS = frozenset(
    ["id", "name", "size", "content_type", "kind", "width", "height", "url", "thumbnail_url"]
)
MESSAGE_NEW = _declare("message.new", "message", to=f"{PARTICIPANTS_AND_LOBBY} {WATCHERS}")
MESSAGE_UPDATED = _declare(
    "message.updated", "message changed", to=f"{PARTICIPANTS_AND_LOBBY} {WATCHERS}"
)
CONVERSATION_UPDATED = _declare("conversation.updated", "conversation", to=PARTICIPANTS_AND_LOBBY)
RECEIPT_UPDATED = _declare(
    "receipt.updated",
    "conversation participant role delivered_seq read_seq",
    to=PARTICIPANTS,
)
TYPING = _declare("typing", "conversation participant role name state", to=PARTICIPANTS)

# --- routing and presence ------------------------------------------------------------------
RESERVATION_OFFERED = _declare("reservation.offered", "reservation", to=AGENT)
RESERVATION_ACCEPTED = _declare("reservation.accepted", "reservation", to=AGENT)
RESERVATION_DECLINED = _declare("reservation.declined", "reservation", to=AGENT)
RESERVATION_EXPIRED = _declare("reservation.expired", "reservation", to=AGENT)
RESERVATION_REVOKED = _declare("reservation.revoked", "reservation", to=AGENT)
AGENT_PRESENCE = _declare("agent.presence", "presence", to=AGENT)
SESSION_ENDED = _declare("session.ended", "reason", to=AGENT)
CONVERSATION_TRANSFERRED = _declare(
    "conversation.transferred",
    "conversation from_agent to_agent to_queue by note",
    to=AGENT + " (the agent it left and the agent it went to)",
)
QUEUE_POSITION = _declare(
    "queue.position",
    "conversation queue mode state sla_seconds open position eta_seconds reason message",
    optional="opens_at",
    to=CUSTOMER,
)

# --- supervision: the floor dashboard (supervision.consumers) ------------------------------
FLOOR_SNAPSHOT = _declare(
    "floor.snapshot",
    "server_time buckets queues agents waiting active technical verdict",
    to=FLOOR,
    broadcast=False,  # built and sent by each floor socket, after a change or a few seconds
)


# --- integration events (webhooks and automation rules; not socket frames) -----------------
# What a site's webhooks subscribe to and its rules trigger on. The core emits them through
# chat.hooks, in the transaction of the change; docs/api.md documents each one (a test holds
# the two equal). A delivery's body is {"type", "timestamp", "data"} with ``data`` holding
# ``conversation`` plus the fields declared here.


@dataclass(frozen=True)
class HookEventType:
    name: str
    data: frozenset[str]
    description: str
    # Sent to one endpoint that something named (a rule's webhook action, a ping): never
    # subscribed to, never a rule's trigger.
    addressed: bool = False


HOOK_EVENTS: dict[str, HookEventType] = {}


def _hook(name: str, data: str, description: str, *, addressed: bool = False) -> HookEventType:
    event = HookEventType(
        name=name, data=frozenset(data.split()), description=description, addressed=addressed
    )
    HOOK_EVENTS[name] = event
    return event


HOOK_MESSAGE_CREATED = _hook(
    "message.created", "message", "a message was stored (customer, agent, bot or system)"
)
HOOK_CONVERSATION_CREATED = _hook("conversation.created", "", "a conversation was opened")
HOOK_CONVERSATION_ASSIGNED = _hook(
    "conversation.assigned", "agent", "an agent took or accepted the conversation"
)
HOOK_CONVERSATION_TRANSFERRED = _hook(
    "conversation.transferred",
    "from_agent to_agent to_queue",  # never the note: an internal note, agents only
    "the conversation was transferred to an agent or a queue",
)
HOOK_CONVERSATION_RESOLVED = _hook(
    "conversation.resolved", "from_status reason", "the conversation was resolved"
)
HOOK_CSAT_SUBMITTED = _hook("csat.submitted", "score source", "the customer rated the conversation")
# A rule's "webhook" action sends this one to the endpoint it names (whatever it subscribes).
HOOK_RULE_FIRED = _hook(
    "rule.fired", "rule event", "an automation rule's webhook action ran", addressed=True
)
# No conversation: a test of the endpoint, asked for over the API or in admin.
HOOK_WEBHOOK_PING = _hook(
    "webhook.ping", "webhook", "a test event, sent when asked (POST /webhooks/{id}/ping/)",
    addressed=True,
)  # fmt: skip
# What endpoints subscribe to and rules trigger on.
BROADCAST_EVENTS: tuple[str, ...] = tuple(
    sorted(name for name, event in HOOK_EVENTS.items() if not event.addressed)
)


# --- feedback (the widget's CSAT after an agent's chat) ----------------------------------------
CSAT_SUBMITTED = _declare(
    "csat.submitted",
    "conversation csat",
    to="the conversation's agents' consoles; never a customer",
)


# --- internal notes (agents only) -------------------------------------------------------------
NOTE_NEW = _declare("note.new", "note", to=CONVERSATION_AGENTS)
NOTE_ACCEPTED = _declare(
    "note.accepted", "ref conversation note duplicate", to=SOCKET, broadcast=False
)
NOTES_BATCH = _declare("notes.batch", "ref conversation notes has_more", to=SOCKET, broadcast=False)


# --- the console's context panel (direct replies) ---------------------------------------------
CONVERSATION_CONTEXT = _declare(
    "conversation.context",
    "ref conversation customer visit collected form past timeline",
    to=SOCKET,
    broadcast=False,
)
PAST_TRANSCRIPT = _declare(
    "past.transcript",
    "ref conversation past status messages notes csat",
    to=SOCKET,
    broadcast=False,
)

TRANSFER_TARGETS = _declare(
    "transfer.targets", "ref conversation agents queues", to=SOCKET, broadcast=False
)

CANNED_REPLIES = _declare("canned.replies", "ref replies", to=SOCKET, broadcast=False)
CANNED_SAVED = _declare("canned.saved", "ref reply", to=SOCKET, broadcast=False)
CANNED_DELETED = _declare("canned.deleted", "ref id", to=SOCKET, broadcast=False)

SEARCH_RESULTS = _declare("search.results", "ref query results", to=SOCKET, broadcast=False)

SUGGESTIONS = _declare(
    "suggestions", "ref conversation prefix suggestions", to=SOCKET, broadcast=False
)


class UndeclaredFrame(ValueError):
    """A frame the registry does not declare, or with fields it does not declare: a bug in
    the code that built it, raised where it was built (never on the socket tier)."""


def check(frame: Mapping[str, Any]) -> EventType:
    """The frame's declaration, or UndeclaredFrame saying what is wrong with it."""
    name = frame.get("type")
    event = REGISTRY.get(name) if isinstance(name, str) else None
    if event is None:
        raise UndeclaredFrame(f"frame type {name!r} is not in chat.events.REGISTRY")
    keys = frame.keys() - {"type"}
    unknown = keys - event.fields
    missing = event.required - keys
    if unknown or missing:
        raise UndeclaredFrame(
            f"{name}: undeclared fields {sorted(unknown)}, missing fields {sorted(missing)}"
        )
    return event


def frame(event: EventType, **fields: Any) -> dict[str, Any]:
    """Build a frame of a declared type, checked against its declaration."""
    built = {"type": event.name, **fields}
    check(built)
    return built
