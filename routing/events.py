"""What routing writes on a conversation's timeline (chat.ConversationEvent.type) and the
frames it sends. Kept in one place so the console, admin and docs agree."""

ROUTING_DECISION = "routing.decision"  # every decision: candidates, winner and why, or why nobody
ROUTING_TRANSFER = "routing.transfer"  # agent-to-agent or agent-to-queue, with the note

FRAMES = (
    "reservation.offered",
    "reservation.accepted",
    "reservation.declined",
    "reservation.expired",
    "reservation.revoked",
    "conversation.transferred",
    "queue.position",
)
