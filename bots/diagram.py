"""A server-rendered SVG diagram of a flow graph, for admin (no JavaScript, no CDN).

Nodes are laid out in columns by breadth-first depth from the start node; edges are
cubic curves labelled with the button, intent or rule they stand for. Every string from
the graph is escaped: a flow's texts are user input.
"""

from __future__ import annotations

from html import escape
from typing import Any

from bots.graph import graph_layers, node_edges, text_for

COL_W, ROW_H = 250, 78
BOX_W, BOX_H = 180, 54
PAD = 24
COLORS = {
    "message": "#e8f1fb",
    "choice": "#fff4d6",
    "input": "#e9f7ec",
    "intent": "#f3e8fb",
    "condition": "#f1f1f1",
    "action": "#fde9e4",
    "handoff": "#dff3f3",
    "end": "#e6e6e6",
}


def _short(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def flow_svg(graph: Any, *, language: str = "en") -> str:
    """The graph as an <svg> string (an explanatory <p> if it cannot be drawn)."""
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), dict):
        return "<p>No graph to draw.</p>"
    nodes = {k: v for k, v in graph["nodes"].items() if isinstance(v, dict)}
    layers = graph_layers({**graph, "nodes": nodes})
    pos: dict[str, tuple[int, int]] = {}
    for col, layer in enumerate(layers):
        for row, node_id in enumerate(layer):
            pos[node_id] = (PAD + col * COL_W, PAD + row * ROW_H)
    width = PAD * 2 + max(1, len(layers)) * COL_W
    height = PAD * 2 + max((len(layer) for layer in layers), default=1) * ROW_H
    default_language = graph.get("default_language", "en")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11" '
        'role="img" aria-label="Flow diagram">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#667"/></marker></defs>',
    ]
    for node_id, node in nodes.items():
        if node_id not in pos:
            continue
        x1, y1 = pos[node_id]
        for label, target in node_edges(node):
            if target not in pos:
                continue
            x2, y2 = pos[target]
            if x2 == x1:  # same column: a dashed curve out to the left of the boxes
                sy, ey = y1 + BOX_H / 2, y2 + BOX_H / 2
                bulge = x1 - 18
                parts.append(
                    f'<path d="M {x1} {sy} C {bulge} {sy}, {bulge} {ey}, {x1} {ey}" fill="none" '
                    'stroke="#99a" stroke-dasharray="3 2" marker-end="url(#arrow)"/>'
                )
                continue
            if x2 > x1:
                sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
                c1, c2 = sx + 40, ex - 40
            else:  # back edge (a loop or a re-ask): go around the boxes
                sx, sy, ex, ey = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2 + BOX_H
                c1, c2 = sx, ex
                sy2 = max(sy, ey) + 30
                parts.append(
                    f'<path d="M {sx} {sy} C {c1} {sy2}, {c2} {sy2}, {ex} {ey}" fill="none" '
                    'stroke="#99a" stroke-dasharray="4 3" marker-end="url(#arrow)"/>'
                )
                continue
            parts.append(
                f'<path d="M {sx} {sy} C {c1} {sy}, {c2} {ey}, {ex} {ey}" fill="none" '
                'stroke="#667" marker-end="url(#arrow)"/>'
            )
            if label:
                mx, my = (sx + ex) / 2, (sy + ey) / 2 - 3
                parts.append(
                    f'<text x="{mx}" y="{my}" text-anchor="middle" fill="#445" '
                    f'font-size="9">{escape(_short(label, 22))}</text>'
                )
    start = graph.get("start")
    for node_id, node in nodes.items():
        if node_id not in pos:
            continue
        x, y = pos[node_id]
        kind = str(node.get("type", "?"))
        fill = COLORS.get(kind, "#fff")
        stroke = "#c0392b" if node_id == start else "#556"
        width_px = 2 if node_id == start else 1
        text = text_for(node.get("text"), language, default_language)
        if kind == "handoff":
            text = f"→ {node.get('queue') or 'default queue'}"
        if kind == "condition":
            text = f"{len(node.get('rules') or [])} rule(s), else {node.get('else', '?')}"
        if kind == "action":
            bits = [f"{k}={v}" for k, v in (node.get("set") or {}).items()]
            bits += [f"#{t}" for t in node.get("tags") or []]
            if node.get("priority") is not None:
                bits.append(f"priority {node['priority']}")
            text = ", ".join(bits)
        variants = len(node.get("variants") or [])
        badge = f" · {variants} variants" if variants else ""
        parts.append(
            f"<g><title>{escape(node_id)} ({escape(kind)}): {escape(text)}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{width_px}"/>'
            f'<text x="{x + 8}" y="{y + 16}" font-weight="bold">'
            f"{escape(_short(node_id, 24))}</text>"
            f'<text x="{x + 8}" y="{y + 30}" fill="#556">{escape(kind + badge)}</text>'
            f'<text x="{x + 8}" y="{y + 45}" fill="#223">{escape(_short(text, 30))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
