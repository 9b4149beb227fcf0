"""The flow graph format: its node types and fields, and pure functions over plain JSON
data (texts by language, a node as a variant shows it, edges, the diagram's layers), so
the admin, the REST API, the import command and the engine all share one definition.
Validation is in bots.graph_validation.

A graph is an object with ``start`` (a node id), ``default_language``, ``typing_ms``,
``handoff_on_request`` and ``nodes`` (node id -> node, each with a ``type`` and its
fields). ``handoff_on_request`` (true unless set to false) lets a customer reach a person
from any question: a typed request for one hands off, and a clarifying question or a
choice's re-ask shows a "Talk to someone" button (bots.person_request). docs/architecture.md
("Bots") describes every node type and its fields; bots/flows/ has a full example.
"""

from __future__ import annotations

import re
from collections import deque
from typing import Any

NODE_TYPES = ("message", "choice", "input", "intent", "condition", "action", "handoff", "end")
# Nodes that run without waiting for the customer: a cycle made only of these would spin.
AUTO_TYPES = ("message", "condition", "action")
VALIDATOR_KINDS = ("text", "email", "phone", "number", "regex")
CONDITION_OPS = (
    "eq", "ne", "in", "not_in", "exists", "not_exists", "contains", "gt", "gte", "lt", "lte",
    "matches",
)  # fmt: skip
ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
# Keys a variant may override; anything else (type, edges of other kinds) stays the node's.
VARIANT_KEYS = {
    "message": {"text", "next"},
    "choice": {"text", "buttons"},
    "input": {"text", "retry_text", "next"},
    "intent": {"text", "clarify_text"},
    "action": {"next"},
    "handoff": {"text"},
    "end": {"text", "csat_text"},
}
NODE_KEYS = {
    "message": {"text", "next"},
    "choice": {"text", "buttons", "attribute", "fallback", "on_fail", "retry_text", "max_retries"},
    "input": {"text", "attribute", "validator", "retry_text", "next", "on_fail", "max_retries"},
    "intent": {"text", "attribute", "intents", "threshold", "clarify_text", "fallback"},
    "condition": {"rules", "else"},
    "action": {"set", "tags", "priority", "next"},
    "handoff": {"text", "offline_text", "queue", "priority", "skills"},
    "end": {"text", "csat", "csat_text", "thanks_text"},
}
COMMON_KEYS = {"type", "variants", "note"}
GRAPH_KEYS = {
    "start", "nodes", "default_language", "typing_ms", "handoff_on_request", "description",
    "schema",
}  # fmt: skip

MAX_NODES = 500
MAX_TEXT = 2000


def handoff_on_request(graph: dict[str, Any]) -> bool:
    """Whether a customer can ask for a person at any question (the default)."""
    return graph.get("handoff_on_request", True) is not False


def text_for(value: Any, language: str, default_language: str = "en") -> str:
    """Pick a text for a language: exact ("fr-ca"), then base ("fr"), then the flow's
    default, then any. A plain string serves every language."""
    if isinstance(value, str) or value is None:
        return value or ""
    language = (language or "").lower()
    for key in (language, language.split("-")[0], default_language):
        if key and value.get(key):
            return value[key]
    return next((v for v in value.values() if v), "")


# A node's fields that hold a text (a string, or texts by language); buttons and intents
# hold theirs in ``label``.
TEXT_KEYS = ("text", "retry_text", "clarify_text", "offline_text", "csat_text", "thanks_text")


def graph_languages(graph: dict[str, Any]) -> tuple[str, ...]:
    """Every language the flow has a text in (its default first, then sorted): the
    languages a button's ``labels`` are given in (docs/protocol.md, "Bot messages")."""
    default = str(graph.get("default_language") or "en").lower()
    found: set[str] = set()
    for node in (graph.get("nodes") or {}).values():
        if not isinstance(node, dict):
            continue
        for view in [node, *(v for v in node.get("variants") or [] if isinstance(v, dict))]:
            texts = [view.get(k) for k in TEXT_KEYS]
            for item in (view.get("buttons") or []) + (view.get("intents") or []):
                if isinstance(item, dict):
                    texts.append(item.get("label"))
            for value in texts:
                if isinstance(value, dict):
                    found.update(str(k).lower() for k, v in value.items() if v)
    found.discard(default)
    return (default, *sorted(found))


def text_variants(value: Any, languages: tuple[str, ...], default_language: str) -> dict[str, str]:
    """``value`` in each of ``languages``, as ``text_for`` picks it for a reader of that
    language (fallbacks included), or {} when it reads the same in all of them (a plain
    string) or the flow has one language: nothing to switch to."""
    if not isinstance(value, dict) or len(languages) < 2:
        return {}
    return {lang: text_for(value, lang, default_language) for lang in languages}


def node_view(node: dict[str, Any], variant_id: str | None) -> dict[str, Any]:
    """The node as one variant shows it (the variant's keys over the node's)."""
    if not variant_id:
        return node
    for variant in node.get("variants") or []:
        if variant.get("id") == variant_id:
            return {**node, **{k: v for k, v in variant.items() if k != "id"}}
    return node


def node_edges(node: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, target) of every outgoing edge of a node, its variants' included."""
    views = [node] + [node_view(node, v.get("id")) for v in node.get("variants") or []]
    edges: list[tuple[str, str]] = []
    for view in views:
        kind = view.get("type")
        if kind in ("message", "input", "action") and view.get("next"):
            edges.append(("", view["next"]))
        if kind == "input" and view.get("on_fail"):
            edges.append(("on fail", view["on_fail"]))
        if kind == "choice":
            for button in view.get("buttons") or []:
                if isinstance(button, dict) and button.get("next"):
                    edges.append((str(button.get("id", "")), button["next"]))
            if view.get("fallback"):
                edges.append(("other text", view["fallback"]))
            if view.get("on_fail"):
                edges.append(("on fail", view["on_fail"]))
        if kind == "intent":
            for intent in view.get("intents") or []:
                if isinstance(intent, dict) and intent.get("next"):
                    edges.append((str(intent.get("id", "")), intent["next"]))
            if view.get("fallback"):
                edges.append(("fallback", view["fallback"]))
        if kind == "condition":
            for rule in view.get("rules") or []:
                if isinstance(rule, dict) and rule.get("next"):
                    edges.append((_rule_label(rule), rule["next"]))
            if view.get("else"):
                edges.append(("else", view["else"]))
    seen, unique = set(), []
    for edge in edges:
        if edge not in seen:
            seen.add(edge)
            unique.append(edge)
    return unique


def _rule_label(rule: dict[str, Any]) -> str:
    cond = rule.get("if") or {}
    value = cond.get("value")
    shown = "" if value is None else f" {value}"
    return f"{cond.get('attribute', '?')} {cond.get('op', 'eq')}{shown}"[:40]


def graph_layers(graph: dict[str, Any]) -> list[list[str]]:
    """Nodes by breadth-first depth from the start (for the diagram); unreachable last."""
    nodes = graph.get("nodes") or {}
    start = graph.get("start")
    depth: dict[str, int] = {}
    if start in nodes:
        depth[start] = 0
        todo = deque([start])
        while todo:
            node_id = todo.popleft()
            node = nodes.get(node_id)
            if not isinstance(node, dict):
                continue
            for _label, target in node_edges(node):
                if target in nodes and target not in depth:
                    depth[target] = depth[node_id] + 1
                    todo.append(target)
    layers: list[list[str]] = []
    for node_id, d in depth.items():
        while len(layers) <= d:
            layers.append([])
        layers[d].append(node_id)
    rest = [n for n in nodes if n not in depth]
    if rest:
        layers.append(rest)
    return layers
