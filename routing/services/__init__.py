"""Routing services: the router, offers, transfers and the sweepers' timers.

The public names other apps call are re-exported here (``routing.services.X``)."""

from routing.services.assign import conversation_assign
from routing.services.decision import Decision, route_entry
from routing.services.dispatch import route_for_agent, router_kick_agent, router_kick_entry
from routing.services.group import conversation_invite, conversation_leave
from routing.services.offers import (
    agent_offers_revoke,
    agent_offers_revoke_on_commit,
    offers_sweep,
    reservation_accept,
    reservation_decline,
    reservation_expire,
)
from routing.services.release import (
    agent_conversations_requeue,
    conversation_abandon,
    conversation_customer_left,
    conversation_reclaimed,
    conversation_released,
)
from routing.services.router import (
    conversation_enqueue,
    default_queue,
    entry_priority_set,
    waiting_sweep,
)
from routing.services.silence import customer_nudge, silent_customer_sweep
from routing.services.supervise import (
    conversation_reassign,
    conversation_requeue,
    offer_withdraw,
    queue_close,
)
from routing.services.sweeps import (
    abandon_sweep,
    agents_lost_sweep,
    customer_left_sweep,
    grace_sweep,
    loads_reconcile,
    positions_publish,
    repair_sweep,
    routing_sweep,
    timers_sweep,
)
from routing.services.transfer import conversation_transfer

__all__ = [
    "Decision",
    "abandon_sweep",
    "agent_conversations_requeue",
    "agent_offers_revoke",
    "agent_offers_revoke_on_commit",
    "agents_lost_sweep",
    "conversation_abandon",
    "conversation_assign",
    "conversation_customer_left",
    "conversation_enqueue",
    "conversation_invite",
    "conversation_leave",
    "conversation_reassign",
    "conversation_reclaimed",
    "conversation_released",
    "conversation_requeue",
    "conversation_transfer",
    "customer_left_sweep",
    "customer_nudge",
    "default_queue",
    "entry_priority_set",
    "grace_sweep",
    "loads_reconcile",
    "offer_withdraw",
    "offers_sweep",
    "positions_publish",
    "queue_close",
    "repair_sweep",
    "reservation_accept",
    "reservation_decline",
    "reservation_expire",
    "route_entry",
    "route_for_agent",
    "router_kick_agent",
    "router_kick_entry",
    "routing_sweep",
    "silent_customer_sweep",
    "timers_sweep",
    "waiting_sweep",
]
