"""Frames agents' presence sends (see docs/protocol.md)."""

AGENT_PRESENCE = "agent.presence"  # to the agent's consoles: status, reason, a message
