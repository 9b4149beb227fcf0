"""The flows that cross apps, as the entry points of the apps below ``actions/`` call them.

Entry points (socket consumers, REST views, admin actions) live with their app: the widget's
socket and the REST API in chat, the console's socket in agents. The flows they start
cross apps (a customer's send advances the bot; a take assigns through routing), so they
live in ``actions/``, the top layer, which no app may import (.importlinter; DESIGN.md §2).
``actions`` binds its flows into this table when Django starts (``ActionsConfig.ready``),
and the entry points call them through it: the imports go one way, and the composition is
in one place. An unbound name fails loudly, it never falls back to a partial flow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

NAMES = frozenset(
    {
        # a conversation (actions.conversations)
        "conversation_start",
        "conversation_start_with_message",
        "message_send",
        "conversation_resolve",
        "conversation_reopen",
        "conversation_unresolve",
        "conversation_update",
        "conversation_handoff",
        # the widget's waiting line (actions.widget)
        "queue_positions",
        "queue_position",
        # the console (actions.agents)
        "console_snapshot",
        "agent_console_connect",
        "agent_console_disconnect",
        "agent_heartbeat_soon",
        "agent_presence_set",
        "conversation_take",
        "conversation_transfer",
        "transfer_targets",
        "customer_nudge",
        "conversation_invite",
        "conversation_leave",
        "reservation_accept",
        "reservation_decline",
        # integrations: an event's automation rules, after its commit (actions.rules)
        "rules_run",
        # a customer's GDPR erasure, the core's and integrations' copies (actions.customers)
        "customer_erase",
        # the widget's service notice (supervision.status, bound by actions)
        "service_notice",
    }
)


class Flows:
    def __init__(self) -> None:
        self._bound: dict[str, Callable[..., Any]] = {}

    def bind(self, **flows: Callable[..., Any]) -> None:
        unknown = set(flows) - NAMES
        if unknown:
            raise ValueError(f"no such flow: {sorted(unknown)}")
        self._bound.update(flows)

    def missing(self) -> list[str]:
        return sorted(NAMES - set(self._bound))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        try:
            return self._bound[name]
        except KeyError:
            raise RuntimeError(
                f"flow {name!r} is not bound: is 'actions' in INSTALLED_APPS?"
            ) from None


flows = Flows()
