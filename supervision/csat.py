"""Where the reports read CSAT: the hook another module can change without touching the
rollups. Today a score is a ``csat.submitted`` event on the conversation's timeline (the
bot's end-of-flow survey records one, ``data.score`` 1-5). A dedicated CSAT model, when
one lands, replaces this one function: return each conversation's score the same way.
"""

from __future__ import annotations

import datetime as dt

from chat.models import ConversationEvent

CSAT_EVENT = "csat.submitted"


def csat_scores(*, created_from: dt.datetime, created_to: dt.datetime) -> dict[int, int]:
    """``{conversation id: score}`` for conversations created in ``[from, to)``; the last
    score a conversation got counts."""
    scores: dict[int, int] = {}
    rows = (
        ConversationEvent.objects.filter(
            type=CSAT_EVENT,
            conversation__created_at__gte=created_from,
            conversation__created_at__lt=created_to,
        )
        .order_by("created_at", "id")
        .values_list("conversation_id", "data")
    )
    for conversation_id, data in rows:
        score = (data or {}).get("score")
        if isinstance(score, int) and not isinstance(score, bool) and 1 <= score <= 5:
            scores[conversation_id] = score
    return scores
