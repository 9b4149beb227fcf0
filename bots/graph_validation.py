"""Validation of a flow graph (the format is in bots.graph): every problem, each with
where it is, so an editor can fix them all at once."""

from __future__ import annotations

from collections import deque
from typing import Any

from bots.graph import (
    AUTO_TYPES,
    COMMON_KEYS,
    CONDITION_OPS,
    GRAPH_KEYS,
    LANG_RE,
    MAX_NODES,
    NODE_KEYS,
    NODE_TYPES,
    VARIANT_KEYS,
    node_edges,
    node_view,
)
from bots.graph_checks import (
    Checker,
    check_examples,
    check_pattern,
    check_priority,
    check_retries,
    check_validator,
)


class GraphError(Exception):
    """A graph failed validation; ``errors`` lists every problem with where it is."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors[:5]))


def validate_graph(graph: Any) -> list[dict[str, str]]:
    """Every problem of a graph, each as {"path", "message"}; an empty list means valid."""
    c = Checker()
    if not isinstance(graph, dict):
        c.err("", "The graph must be a JSON object.")
        return c.errors
    nodes = graph.get("nodes")
    if not isinstance(nodes, dict) or not nodes:
        c.err("nodes", "must be a non-empty object of nodes by id.")
        return c.errors
    if len(nodes) > MAX_NODES:
        c.err("nodes", f"has more than {MAX_NODES} nodes.")
        return c.errors
    start = graph.get("start")
    if not isinstance(start, str) or start not in nodes:
        c.err("start", f"must be the id of a node; {start!r} is not one.")
    lang = graph.get("default_language", "en")
    if not isinstance(lang, str) or not LANG_RE.fullmatch(lang):
        c.err("default_language", "must be a language code like 'en'.")
    typing_ms = graph.get("typing_ms", 0)
    if isinstance(typing_ms, bool) or not isinstance(typing_ms, int) or not 0 <= typing_ms <= 5000:
        c.err("typing_ms", "must be an integer from 0 to 5000.")
    if not isinstance(graph.get("handoff_on_request", True), bool):
        c.err("handoff_on_request", "must be true or false.")
    for key in graph:
        if key not in GRAPH_KEYS:
            c.err(key, f"is not a graph field (expected one of {sorted(GRAPH_KEYS)}).")

    for node_id, node in nodes.items():
        path = f"nodes.{node_id}"
        c.ident(path, node_id)
        if not isinstance(node, dict):
            c.err(path, "must be an object.")
            continue
        kind = node.get("type")
        if kind not in NODE_TYPES:
            c.err(f"{path}.type", f"must be one of {', '.join(NODE_TYPES)}.")
            continue
        unknown = set(node) - NODE_KEYS[kind] - COMMON_KEYS
        if unknown:
            c.err(path, f"unknown field(s) for a {kind} node: {', '.join(sorted(unknown))}.")
        _check_node(c, path, node, nodes)
        variants = node.get("variants")
        if variants is None:
            continue
        if kind not in VARIANT_KEYS:
            c.err(f"{path}.variants", f"a {kind} node cannot have variants.")
            continue
        if not isinstance(variants, list) or len(variants) < 2:
            c.err(f"{path}.variants", "must be a list of at least two variants.")
            continue
        ids = set()
        for i, variant in enumerate(variants):
            vpath = f"{path}.variants[{i}]"
            if not isinstance(variant, dict):
                c.err(vpath, "must be an object.")
                continue
            if c.ident(f"{vpath}.id", variant.get("id")):
                if variant["id"] in ids:
                    c.err(f"{vpath}.id", f"repeats the variant id {variant['id']!r}.")
                ids.add(variant["id"])
            extra = set(variant) - {"id"} - VARIANT_KEYS[kind]
            if extra:
                allowed = ", ".join(sorted(VARIANT_KEYS[kind]))
                c.err(vpath, f"may only override {allowed}; not {', '.join(sorted(extra))}.")
                continue
            # Check the node as the variant shows it, but report only what the variant
            # overrides: the rest was reported once for the node itself.
            sub = Checker()
            _check_node(sub, vpath, node_view(node, variant.get("id")), nodes)
            own = tuple(f"{vpath}.{key}" for key in variant if key != "id")
            c.errors.extend(e for e in sub.errors if own and e["path"].startswith(own))

    if c.errors:
        return c.errors
    # Reachability: every node must be reachable from the start, or it is dead weight that
    # hides a mistake (a typo in an edge usually leaves its intended target unreachable).
    reached = {start}
    todo = deque([start])
    while todo:
        for _label, target in node_edges(nodes[todo.popleft()]):
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for node_id in nodes:
        if node_id not in reached:
            c.err(f"nodes.{node_id}", "is not reachable from the start node.")
    # Nodes that advance on their own must not form a cycle, or one step would never end.
    auto = {n for n, node in nodes.items() if node.get("type") in AUTO_TYPES}
    cycle = _find_cycle(auto, nodes)
    if cycle:
        c.err(
            f"nodes.{cycle[0]}",
            "is in a loop that never waits for the customer: " + " -> ".join(cycle),
        )
    terminal = [n for n in reached if nodes[n].get("type") in ("handoff", "end")]
    if not terminal:
        c.err("nodes", "no handoff or end node is reachable: the flow could never finish.")
    return c.errors


def _find_cycle(auto: set[str], nodes: dict) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node_id: str) -> list[str] | None:
        state[node_id] = 1
        stack.append(node_id)
        for _label, target in node_edges(nodes[node_id]):
            if target not in auto:
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node_id] = 2
        return None

    for node_id in sorted(auto):
        if node_id not in state:
            found = visit(node_id)
            if found:
                return found
    return None


def _check_node(c: Checker, path: str, node: dict, nodes: dict) -> None:
    kind = node["type"]
    if kind == "message":
        c.text(f"{path}.text", node.get("text"))
        c.target(f"{path}.next", node.get("next"), nodes)
    elif kind == "choice":
        c.text(f"{path}.text", node.get("text"))
        buttons = node.get("buttons")
        if not isinstance(buttons, list) or not buttons:
            c.err(f"{path}.buttons", "must be a non-empty list of buttons.")
        else:
            if len(buttons) > 12:
                c.err(f"{path}.buttons", "has more than 12 buttons.")
            ids = set()
            for i, button in enumerate(buttons):
                bpath = f"{path}.buttons[{i}]"
                if not isinstance(button, dict):
                    c.err(bpath, "must be an object with id, label and next.")
                    continue
                if c.ident(f"{bpath}.id", button.get("id")):
                    if button["id"] in ids:
                        c.err(f"{bpath}.id", f"repeats the button id {button['id']!r}.")
                    ids.add(button["id"])
                c.text(f"{bpath}.label", button.get("label"))
                c.target(f"{bpath}.next", button.get("next"), nodes)
        c.attribute(f"{path}.attribute", node.get("attribute"), required=False)
        c.target(f"{path}.fallback", node.get("fallback"), nodes, required=False)
        c.target(f"{path}.on_fail", node.get("on_fail"), nodes, required=False)
        c.text(f"{path}.retry_text", node.get("retry_text"), required=False)
        check_retries(c, path, node)
    elif kind == "input":
        c.text(f"{path}.text", node.get("text"))
        c.attribute(f"{path}.attribute", node.get("attribute"), required=True)
        check_validator(c, f"{path}.validator", node.get("validator"))
        c.text(f"{path}.retry_text", node.get("retry_text"), required=False)
        c.target(f"{path}.next", node.get("next"), nodes)
        c.target(f"{path}.on_fail", node.get("on_fail"), nodes, required=False)
        check_retries(c, path, node)
    elif kind == "intent":
        c.text(f"{path}.text", node.get("text"))
        c.attribute(f"{path}.attribute", node.get("attribute"), required=False)
        intents = node.get("intents")
        if not isinstance(intents, list) or not intents:
            c.err(f"{path}.intents", "must be a non-empty list of intents.")
        else:
            ids = set()
            for i, intent in enumerate(intents):
                ipath = f"{path}.intents[{i}]"
                if not isinstance(intent, dict):
                    c.err(ipath, "must be an object with id, label, examples and next.")
                    continue
                if c.ident(f"{ipath}.id", intent.get("id")):
                    if intent["id"] in ids:
                        c.err(f"{ipath}.id", f"repeats the intent id {intent['id']!r}.")
                    ids.add(intent["id"])
                c.text(f"{ipath}.label", intent.get("label"))
                check_examples(c, f"{ipath}.examples", intent.get("examples"))
                c.target(f"{ipath}.next", intent.get("next"), nodes)
        threshold = node.get("threshold")  # absent: the intent backend's default
        is_number = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
        if threshold is not None and (not is_number or not 0 <= threshold <= 1):
            c.err(f"{path}.threshold", "must be a number from 0 to 1.")
        c.text(f"{path}.clarify_text", node.get("clarify_text"), required=False)
        c.target(f"{path}.fallback", node.get("fallback"), nodes)
    elif kind == "condition":
        rules = node.get("rules")
        if not isinstance(rules, list) or not rules:
            c.err(f"{path}.rules", "must be a non-empty list of rules.")
        else:
            for i, rule in enumerate(rules):
                rpath = f"{path}.rules[{i}]"
                if not isinstance(rule, dict) or not isinstance(rule.get("if"), dict):
                    c.err(rpath, 'must be an object {"if": {...}, "next": "node"}.')
                    continue
                cond = rule["if"]
                c.attribute(f"{rpath}.if.attribute", cond.get("attribute"), required=True)
                op = cond.get("op", "eq")
                if op not in CONDITION_OPS:
                    c.err(f"{rpath}.if.op", f"must be one of {', '.join(CONDITION_OPS)}.")
                elif op in ("in", "not_in") and not isinstance(cond.get("value"), list):
                    c.err(f"{rpath}.if.value", f"must be a list for {op}.")
                elif op in ("gt", "gte", "lt", "lte") and (
                    isinstance(cond.get("value"), bool)
                    or not isinstance(cond.get("value"), (int, float))
                ):
                    c.err(f"{rpath}.if.value", f"must be a number for {op}.")
                elif op == "matches":
                    check_pattern(c, f"{rpath}.if.value", cond.get("value"))
                c.target(f"{rpath}.next", rule.get("next"), nodes)
        c.target(f"{path}.else", node.get("else"), nodes)
    elif kind == "action":
        sets = node.get("set", {})
        if not isinstance(sets, dict):
            c.err(f"{path}.set", "must be an object of attribute: value.")
        else:
            for name, value in sets.items():
                c.ident(f"{path}.set.{name}", name)
                if not isinstance(value, (str, int, float, bool)) and value is not None:
                    c.err(f"{path}.set.{name}", "must be a string, number, boolean or null.")
        tags = node.get("tags", [])
        if not isinstance(tags, list) or not all(
            isinstance(t, str) and 0 < len(t) <= 40 for t in tags
        ):
            c.err(f"{path}.tags", "must be a list of tags of 1-40 characters.")
        check_priority(c, f"{path}.priority", node.get("priority"))
        if not any(k in node for k in ("set", "tags", "priority")):
            c.err(path, "an action must set an attribute, a tag or a priority.")
        c.target(f"{path}.next", node.get("next"), nodes)
    elif kind == "handoff":
        c.text(f"{path}.text", node.get("text"), required=False)
        c.text(f"{path}.offline_text", node.get("offline_text"), required=False)
        queue = node.get("queue")
        if queue is not None and (not isinstance(queue, str) or not 0 < len(queue) <= 120):
            c.err(f"{path}.queue", "must be a queue name of 1-120 characters.")
        check_priority(c, f"{path}.priority", node.get("priority"))
        skills = node.get("skills", [])
        if not isinstance(skills, list) or not all(
            isinstance(s, str) and 0 < len(s) <= 40 for s in skills
        ):
            c.err(f"{path}.skills", "must be a list of skill names of 1-40 characters.")
    elif kind == "end":
        c.text(f"{path}.text", node.get("text"))
        if not isinstance(node.get("csat", False), bool):
            c.err(f"{path}.csat", "must be true or false.")
        c.text(f"{path}.csat_text", node.get("csat_text"), required=False)
        c.text(f"{path}.thanks_text", node.get("thanks_text"), required=False)
