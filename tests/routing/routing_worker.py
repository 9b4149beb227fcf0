"""A routing worker process for the concurrency tests (not a test module).

Run as ``python -m tests.routing.routing_worker MODE ...`` with DATABASE_URL pointing at
the test database. Modes:

- ``route ENTRY_ID``: print the backend pid, then route one entry (the test may kill it).
- ``loop SECONDS SEED``: for at most SECONDS, route waiting entries, accept open offers as
  their agents and resolve some chats, like a router and a floor of agents would.

Every loop is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from actions import conversations as conversation_actions
    from chat.actors import Actor
    from chat.exceptions import ParleyError
    from chat.models import Conversation
    from routing.models import QueueEntry, Reservation
    from routing.services import reservation_accept, route_entry

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        print(cursor.fetchone()[0], flush=True)

    mode = sys.argv[1]
    if mode == "route":
        decision = route_entry(entry_id=int(sys.argv[2]))
        print(decision.outcome, flush=True)
        return

    seconds, seed = float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    users = {u.pk: u for u in get_user_model().objects.filter(agent_profile__isnull=False)}
    deadline = time.monotonic() + seconds
    for _ in range(5000):
        if time.monotonic() > deadline:
            break
        waiting = list(QueueEntry.objects.filter(state="waiting").values_list("pk", flat=True)[:20])
        rng.shuffle(waiting)
        for entry_id in waiting[:5]:
            route_entry(entry_id=entry_id, skip_locked=rng.random() < 0.5)
        offers = list(
            Reservation.objects.filter(state="offered").values_list("pk", "agent_id")[:20]
        )
        rng.shuffle(offers)
        for reservation_id, agent_id in offers[:5]:
            with contextlib.suppress(ParleyError):  # someone else answered it first
                reservation_accept(
                    actor=Actor.for_agent(users[agent_id]), reservation_id=reservation_id
                )
        done = list(
            Conversation.objects.filter(status="assigned").values_list("pk", "assignee_id")[:20]
        )
        for conversation_id, agent_id in done[:2]:
            if rng.random() < 0.5:
                with contextlib.suppress(ParleyError):
                    conversation_actions.conversation_resolve(
                        actor=Actor.for_agent(users[agent_id]), conversation_id=conversation_id
                    )
    print("done", flush=True)


if __name__ == "__main__":
    main()
