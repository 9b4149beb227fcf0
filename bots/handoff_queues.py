"""Which queue a handoff node's ``queue`` names: one lookup for saving a flow and for
running it, so that a flow that saves is a flow whose handoffs reach the queue they name.

bots.graph_validation stays pure (no database); this is the part of a flow's validation
that needs the database, and the flow services (bots.services.flows) run both.

A name matches exactly (case and spaces included, as ``Queue.name`` is stored) and only an
active queue counts: routing refuses to transfer into an inactive queue and agents are not
served from one, so a handoff into it would strand the customer. Saving refuses such a
name; a version published before its queue was deleted or deactivated still runs, and its
handoff falls back to the conversation's or the site's default queue, with a warning in
the server log (bots.services.engine_endings).
"""

from __future__ import annotations

import difflib
from typing import Any

from routing.models import Queue

MAX_NAMES_SHOWN = 10  # an error message, not a directory: the closest names first


def handoff_queue_find(name: str) -> Queue | None:
    """The active queue a handoff node names, or None."""
    return Queue.objects.filter(name=name, is_active=True).first()


def _named_queues(graph: Any) -> dict[str, str]:
    """{node id: queue name} of the graph's handoff nodes that name a queue. Variants
    cannot override a handoff's queue (bots.graph.VARIANT_KEYS), so the node's is the only
    one. Malformed parts are skipped: bots.graph_validation reports them."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, dict):
        return {}
    return {
        node_id: node["queue"]
        for node_id, node in nodes.items()
        if isinstance(node, dict)
        and node.get("type") == "handoff"
        and isinstance(node.get("queue"), str)
        and node["queue"]
    }


def graph_queue_errors(graph: Any) -> list[dict[str, str]]:
    """An error, in the graph's error shape, for each handoff naming no active queue."""
    named = _named_queues(graph)
    if not named:
        return []
    found = set(
        Queue.objects.filter(name__in=set(named.values()), is_active=True).values_list(
            "name", flat=True
        )
    )
    missing = {node_id: name for node_id, name in named.items() if name not in found}
    if not missing:
        return []
    active = sorted(Queue.objects.filter(is_active=True).values_list("name", flat=True))
    return [
        {"path": f"nodes.{node_id}.queue", "message": _message(name, active)}
        for node_id, name in missing.items()
    ]


def _message(name: str, active: list[str]) -> str:
    if not active:
        return f"names no queue: {name!r} (there is no active queue yet)"
    # A typo ("Genral") is the usual cause: show its likely fix first, then the rest.
    close = [q for q in active if q.casefold() == name.casefold()]
    close += [q for q in difflib.get_close_matches(name, active, n=3, cutoff=0.6) if q not in close]
    shown = close + [q for q in active if q not in close]
    listed = ", ".join(shown[:MAX_NAMES_SHOWN])
    more = f", … ({len(shown) - MAX_NAMES_SHOWN} more)" if len(shown) > MAX_NAMES_SHOWN else ""
    return f"names no queue: {name!r} (the queues are: {listed}{more})"
