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


def test_every_socket_frame_is_documented():
    from agents.consumers import AgentConsumer
    from chat.consumers import WidgetConsumer

    protocol = (ROOT / "docs" / "protocol.md").read_text()
    client_types = set(WidgetConsumer.handlers) | set(AgentConsumer.handlers)
    code = "\n".join(
        p.read_text()
        for app in ("chat", "routing", "agents", "bots")
        for p in (ROOT / app).rglob("*.py")
        if "api" not in p.parts  # OpenAPI dicts also have "type" keys
    )
    server_types = set(re.findall(r'"type": "([a-z_.]+)"', code))
    missing = sorted(t for t in client_types | server_types if f"`{t}`" not in protocol)
    assert client_types and server_types and missing == []
