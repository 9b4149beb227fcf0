"""The docs travel with the code: every setting is in the README, every frame in
docs/protocol.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_is_documented_in_the_readme():
    source = "\n".join(p.read_text() for p in (ROOT / "config").glob("*.py"))
    names = set(re.findall(r'env\.\w+\("([A-Z_]+)"', source))
    names |= set(re.findall(r'os\.environ\.(?:get|setdefault)\("([A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert names and missing == []


def _protocol_sections() -> dict[str, str]:
    """Each frame named in a `###` heading of docs/protocol.md, with the text under it
    (a heading may name several frames; a frame may have several sections)."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    sections: dict[str, str] = {}
    parts = re.split(r"^(#{1,3} .*)$", text, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        if not heading.startswith("### "):
            continue
        for name in re.findall(r"`([a-z_.]+)`", heading):
            sections[name] = sections.get(name, "") + body
    return sections


def _client_frame_types() -> set[str]:
    from agents.consumers import AgentConsumer
    from chat.widget_consumer import WidgetConsumer
    from supervision.consumers import FloorConsumer

    return set(WidgetConsumer.handlers) | set(AgentConsumer.handlers) | set(FloorConsumer.handlers)


def test_the_protocol_doc_and_the_event_registry_name_the_same_frames():
    from chat.events import REGISTRY

    documented = set(_protocol_sections())
    client = _client_frame_types()
    # Both ways: every declared or handled frame has a section, every section is one.
    assert sorted(set(REGISTRY) - documented) == []
    assert sorted(client - documented) == []
    assert sorted(documented - set(REGISTRY) - client) == []


def _json_keys(section: str) -> set[str]:
    """The top-level keys of the section's JSON examples."""
    keys: set[str] = set()
    for block in re.findall(r"```json\n(.*?)```", section, flags=re.S):
        depth = 0
        for i, ch in enumerate(block):
            if ch in "{[":
                depth += 1
            elif ch in "}]":
                depth -= 1
            elif ch == '"' and depth == 1 and block[i - 1] in "{ ,\n":
                m = re.match(r'"([A-Za-z_.…]+)"\s*:', block[i:])
                if m:
                    keys.add(m.group(1))
    return keys - {"type", "…"}


def test_every_documented_field_is_declared_and_every_declared_field_documented():
    from chat.events import REGISTRY

    sections = _protocol_sections()
    problems = []
    for name, event in REGISTRY.items():
        section = sections[name]
        for key in sorted(_json_keys(section) - event.fields):
            problems.append(f"{name}: the doc shows {key!r}, the registry does not declare it")
        for field in sorted(event.fields):
            if f'"{field}"' not in section and f"`{field}`" not in section:
                problems.append(f"{name}: declared field {field!r} is not in its doc section")
    assert problems == []


def test_the_attachment_fields_are_documented_both_ways():
    """A message's `attachments` items: the registry's ATTACHMENT_FIELDS and the example
    under "Message" in docs/protocol.md name the same keys."""
    from chat.events import ATTACHMENT_FIELDS

    text = (ROOT / "docs" / "protocol.md").read_text()
    example = re.search(r'```\n(\{"id": "5b0e.*?\})\n```', text, flags=re.S)
    assert example is not None
    documented = set(re.findall(r'"([a-z_]+)":', example.group(1)))
    assert documented == set(ATTACHMENT_FIELDS)
