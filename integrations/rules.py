"""Automation rules: their format, its validation (every problem with its path, as the bot
graph's), and the conditions, evaluated on what the event carries plus a few reads.

A rule: ``event`` (one of chat.events.HOOK_EVENTS), ``conditions`` (all must hold; an item
``{"any": [...]}`` holds when one of its conditions does) and ``actions`` (run in order by
``actions.rules``). A condition is ``{"field", "op", "value"}``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from bots.models import BotSession
from chat import safe_regex
from chat.events import BROADCAST_EVENTS
from chat.models import Conversation
from routing.models import Queue

FIELDS = {
    "message.text": "text",
    "message.sender": "text",  # customer, agent, bot, system
    "message.kind": "text",
    "conversation.status": "text",
    "conversation.language": "language",
    "conversation.queue": "text",  # the queue's name
    "conversation.intent": "text",  # what the bot's intent node recognised
    "conversation.priority": "number",
    "conversation.tags": "list",
    "conversation.subject": "text",
    "customer.email": "text",
    "customer.name": "text",
    "customer.external_id": "text",
    "customer.language": "language",
    "customer.tags": "list",  # the customer's attribute "tags"
    "business_hours": "bool",  # the conversation's queue is open now
    "csat.score": "number",
}
OPS = {
    "text": {
        "eq",
        "ne",
        "in",
        "not_in",
        "contains",
        "not_contains",
        "matches",
        "exists",
        "not_exists",
    },
    "language": {"eq", "ne", "in", "not_in", "exists", "not_exists"},
    "number": {"eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists", "not_exists"},
    "list": {"has", "has_any", "has_none", "exists", "not_exists"},
    "bool": {"eq"},
}
ACTIONS = {
    "tag": {"tags"},
    "untag": {"tags"},
    "priority": {"value"},
    "transfer": {"queue"},
    "post": {"text", "as"},
    "webhook": {"endpoint"},
    "assign": {"agent"},
    "resolve": set(),
}
OPTIONAL = {"post": {"as"}}
MAX_ITEMS = 20
EVENTS = frozenset(BROADCAST_EVENTS)


def _one_of(value: Any, choices: Collection[str]) -> bool:
    """Whether a value from the client is one of ``choices``. A list or an object is no key
    of a dict or set (``in`` raises TypeError, a 500), so anything but a string is not."""
    return isinstance(value, str) and value in choices


def _items(value: Any, least: int) -> bool:
    return isinstance(value, list) and least <= len(value) <= MAX_ITEMS


@dataclass
class Checked:
    """A rule's check: every problem, and the actions that have none, (index, action), for
    the checks that read the database (``integrations.services.rules``). When the list
    itself is wrong (too long, not a list) no action is sound: its items were not checked."""

    problems: list[str]
    actions: list[tuple[int, dict[str, Any]]]


def validate(*, event: Any, conditions: Any, actions: Any) -> list[str]:
    """Every problem, as "path: what is wrong"; empty when the rule is valid."""
    return check(event=event, conditions=conditions, actions=actions).problems


def check(*, event: Any, conditions: Any, actions: Any) -> Checked:
    """``validate``, with the actions the checks reading the database may rely on."""
    errors: list[str] = []
    if not _one_of(event, EVENTS):
        errors.append(f"event: must be one of {', '.join(sorted(EVENTS))}.")
    if not _items(conditions, 0):
        errors.append(f"conditions: must be a list of at most {MAX_ITEMS} conditions.")
    else:
        for i, cond in enumerate(conditions):
            _condition(f"conditions[{i}]", cond, errors, nested=False)
    sound: list[tuple[int, dict[str, Any]]] = []
    if not _items(actions, 1):
        errors.append(f"actions: must be a list of 1 to {MAX_ITEMS} actions.")
    else:
        for i, action in enumerate(actions):
            if _action(f"actions[{i}]", action, errors):
                sound.append((i, action))
    return Checked(errors, sound)


def _condition(path: str, cond: Any, errors: list[str], *, nested: bool) -> None:
    if isinstance(cond, dict) and set(cond) == {"any"} and not nested:
        items = cond["any"]
        if not _items(items, 1):
            errors.append(f"{path}.any: must be a list of 1 to {MAX_ITEMS} conditions.")
            return
        for i, item in enumerate(items):
            _condition(f"{path}.any[{i}]", item, errors, nested=True)
        return
    if (
        not isinstance(cond, dict)
        or not {"field", "op"} <= set(cond)
        or set(cond) - {"field", "op", "value"}
    ):
        errors.append(
            f'{path}: must be {{"field", "op", "value"}}'
            + ("" if nested else ' or {"any": [...]}')
            + "."
        )
        return
    if not _one_of(cond["field"], FIELDS):
        errors.append(f"{path}.field: must be one of {', '.join(sorted(FIELDS))}.")
        return
    kind = FIELDS[cond["field"]]
    op = cond["op"]
    if not _one_of(op, OPS[kind]):
        errors.append(f"{path}.op: {cond['field']} takes {', '.join(sorted(OPS[kind]))}.")
        return
    if op in ("exists", "not_exists"):
        return
    if "value" not in cond:
        errors.append(f"{path}.value: required for {op}.")
        return
    value = cond["value"]
    if op in ("in", "not_in", "has_any", "has_none"):
        ok = (
            isinstance(value, list)
            and 0 < len(value) <= 100
            and all(_scalar(v, kind) for v in value)
        )
        if not ok:
            errors.append(f"{path}.value: must be a list of 1 to 100 {_kind_name(kind)}.")
    elif op == "matches":  # RE2 syntax (chat.safe_regex): linear-time matching
        if not isinstance(value, str) or len(value) > 200:
            errors.append(
                f"{path}.value: not a regular expression (not a string of at most 200 characters)."
            )
            return
        try:
            safe_regex.compile(value, ignore_case=True)
        except safe_regex.error as exc:
            reason = exc.args[0] if exc.args else exc
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
            errors.append(
                f"{path}.value: not a regular expression RE2 accepts ({reason}); "
                "RE2 has no backreferences nor lookarounds."
            )
    elif kind == "bool":
        if not isinstance(value, bool):
            errors.append(f"{path}.value: must be true or false.")
    elif not _scalar(value, "text" if kind == "list" else kind):
        errors.append(f"{path}.value: must be {_kind_name(kind)}.")


def _scalar(value: Any, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str) and 0 < len(value) <= 200


def _kind_name(kind: str) -> str:
    return "numbers" if kind == "number" else "texts of 1 to 200 characters"


def _action(path: str, action: Any, errors: list[str]) -> bool:
    """Adds the action's problems to ``errors``; whether it has none."""
    before = len(errors)
    if not isinstance(action, dict) or not _one_of(action.get("type"), ACTIONS):
        errors.append(f"{path}.type: must be one of {', '.join(sorted(ACTIONS))}.")
        return False
    _action_fields(path, action, errors)
    return len(errors) == before


def _action_fields(path: str, action: dict[str, Any], errors: list[str]) -> None:
    kind = action["type"]
    allowed = ACTIONS[kind]
    keys = set(action) - {"type"}
    if keys - allowed:
        errors.append(f"{path}: unknown fields {sorted(keys - allowed)} for {kind}.")
    missing = allowed - OPTIONAL.get(kind, set()) - keys
    if missing:
        errors.append(f"{path}: {kind} needs {', '.join(sorted(missing))}.")
        return
    if kind in ("tag", "untag"):
        tags = action["tags"]
        if (
            not isinstance(tags, list)
            or not tags
            or not all(isinstance(t, str) and 0 < len(t) <= 40 for t in tags)
        ):
            errors.append(f"{path}.tags: must be a list of tags of 1 to 40 characters.")
    elif kind == "priority":
        value = action["value"]
        if not isinstance(value, int) or isinstance(value, bool) or not -100 <= value <= 100:
            errors.append(f"{path}.value: must be an integer from -100 to 100.")
    elif kind == "transfer":
        if not isinstance(action["queue"], str) or not action["queue"]:
            errors.append(f"{path}.queue: must be a queue's name.")
        elif not Queue.objects.filter(name=action["queue"], is_active=True).exists():
            errors.append(f"{path}.queue: no active queue named {action['queue']!r}.")
    elif kind == "post":
        text = action["text"]
        if not isinstance(text, str) or not text.strip() or len(text) > 4000:
            errors.append(f"{path}.text: must be text of 1 to 4000 characters.")
        if not _one_of(action.get("as", "bot"), ("bot", "system")):
            errors.append(f"{path}.as: must be bot or system.")
    elif kind == "webhook":
        value = action["endpoint"]
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(f"{path}.endpoint: must be a webhook endpoint's id.")
    elif kind == "assign" and (not isinstance(action["agent"], str) or not action["agent"]):
        errors.append(f"{path}.agent: must be an agent's username.")


# --- evaluation --------------------------------------------------------------------------------
@dataclass
class Context:
    """What the conditions read: the event's body, and the rows they need, read once."""

    body: dict[str, Any]
    conversation: Conversation | None
    now: dt.datetime
    _cache: dict[str, Any] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._read(name)
        return self._cache[name]

    def _read(self, name: str) -> Any:
        data = self.body.get("data", {})
        conv = data.get("conversation") or {}
        message = data.get("message") or {}
        customer = conv.get("customer") or {}
        c = self.conversation
        match name:
            case "message.text":
                return message.get("body")
            case "message.sender":
                return (message.get("sender") or {}).get("role")
            case "message.kind":
                return message.get("kind")
            case (
                "conversation.status"
                | "conversation.language"
                | "conversation.priority"
                | "conversation.subject"
            ):
                return conv.get(name.split(".")[1])
            case "conversation.tags":
                return list(c.tags) if c is not None else conv.get("tags") or []
            case "conversation.queue":
                return (conv.get("queue") or {}).get("name")
            case "conversation.intent":
                session = BotSession.objects.filter(conversation_id=conv.get("id")).first()
                return (session.intent or None) if session else None
            case "customer.email" | "customer.name" | "customer.external_id":
                return customer.get(name.split(".")[1]) or None
            case "customer.language":
                return c.customer.locale if c is not None else None
            case "customer.tags":
                tags = c.customer.attributes.get("tags") if c is not None else None
                return tags if isinstance(tags, list) else []
            case "business_hours":
                queue = c.queue if c is not None and c.queue_id else None
                if queue is None and c is not None:
                    queue = c.site.default_queue
                return True if queue is None else queue.is_open(self.now)
            case "csat.score":
                return data.get("score")
        return None


def holds(conditions: list[Any], ctx: Context) -> bool:
    for cond in conditions:
        if "any" in cond:
            if not any(_holds(c, ctx) for c in cond["any"]):
                return False
        elif not _holds(cond, ctx):
            return False
    return True


def _lang(value: Any) -> str:
    return str(value or "").lower().split("-")[0]


def _holds(cond: dict[str, Any], ctx: Context) -> bool:
    field_name, op, want = cond["field"], cond["op"], cond.get("value")
    kind = FIELDS[field_name]
    got = ctx.value(field_name)
    if op == "exists":
        return got not in (None, "", [])
    if op == "not_exists":
        return got in (None, "", [])
    if kind == "language":  # "fr" matches "fr-CA": a language, not a locale
        got = _lang(got)
        want = [_lang(w) for w in want] if isinstance(want, list) else _lang(want)
    elif kind == "text" and got is not None:
        got = str(got).casefold()
        want = [str(w).casefold() for w in want] if isinstance(want, list) else str(want).casefold()
    match op:
        case "eq":
            return got == want
        case "ne":
            return got != want
        case "in":
            return got in want
        case "not_in":
            return got not in want
        case "contains":
            return got is not None and want in got
        case "not_contains":
            return got is None or want not in got
        case "matches":
            if got is None:
                return False
            try:  # RE2: linear in len(got), whatever the pattern (no backtracking)
                return safe_regex.search(cond["value"], got, ignore_case=True)
            except safe_regex.error:  # saved before RE2 and not valid under it: never holds
                return False
        case "gt" | "gte" | "lt" | "lte":
            if not isinstance(got, int | float):
                return False
            return {"gt": got > want, "gte": got >= want, "lt": got < want, "lte": got <= want}[op]
        case "has":
            return want in (got or [])
        case "has_any":
            return bool(set(want) & set(got or []))
        case "has_none":
            return not set(want) & set(got or [])
    return False
