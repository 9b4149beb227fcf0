"""Autocomplete suggestions: the share of keystrokes they save, and their server-side
latency (goal: p99 <= 30 ms).

Builds a corpus of past conversations for one site (seeded, reproducible): agent replies
drawn from a few dozen habits per queue and intent with a heavy tail (Zipf), plus free
text that never repeats (``--free``), spelled with small variations in case and spacing.
Then it replays held-out conversations: each agent reply is typed one key at a time, and
after each key (from the third on) chat.suggest.suggestions_for is called as the console's
``suggest`` frame calls it (the permission check, the conversation's intent, the ranking).
When the first suggestion is the reply, Tab takes it (one key); with ``--top 3`` a click on
any of the three counts as one key. Keystrokes saved = 1 - keys used / characters.
Latency is timed around each call (the first call, which builds the site's index from the
database, is reported apart).

    createdb -h 127.0.0.1 -U postgres parley_console
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_console \\
           REDIS_URL=redis://127.0.0.1:6379/14 SECRET_KEY=bench DEBUG=false
    .venv/bin/python manage.py migrate -v0
    .venv/bin/python bench/suggest_bench.py --history 1500 --replay 150
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402

from chat import suggest  # noqa: E402
from chat.actors import Actor  # noqa: E402
from chat.models import Conversation, Customer, Message, Note, Participant, Site  # noqa: E402
from routing.models import Queue  # noqa: E402

SITE_KEY = "bench-suggest"
QUEUES = {
    "Orders": ["delivery_delay", "order_status", "cancel_order"],
    "Products": ["stock", "how_to"],
    "Billing": ["refund", "invoice"],
}
WORDS = [
    "parcel",
    "order",
    "refund",
    "invoice",
    "drill",
    "paint",
    "timber",
    "delivery",
    "voucher",
    "depot",
    "account",
    "address",
    "tomorrow",
    "monday",
    "warehouse",
    "courier",
    "tracking",
    "number",
    "screws",
    "size",
    "colour",
]


def habits(rng: random.Random) -> dict[tuple[str, str], list[str]]:
    """Per (queue, intent): the replies its agents write again and again."""
    out = {}
    for queue, intents in QUEUES.items():
        for intent in intents:
            replies = []
            for n in range(12):
                words = rng.sample(WORDS, 6)
                replies.append(
                    f"Thanks for waiting! About your {words[0]}: the {words[1]} {words[2]} "
                    f"is ready, and the {words[3]} will follow {words[4]} ({intent} #{n})."
                    if n % 3 == 0
                    else f"I checked the {words[0]} and the {words[1]} for you: {words[2]} "
                    f"{words[3]}, {words[4]} {words[5]}. ({queue} {intent} {n})"
                )
            out[(queue, intent)] = replies
    return out


def spelled(rng: random.Random, text: str) -> str:
    """The same reply as an agent types it: sometimes lower case, sometimes two spaces."""
    if rng.random() < 0.1:
        text = text[0].lower() + text[1:]
    if rng.random() < 0.1:
        text = text.replace(" ", "  ", 1)
    return text


def draw(rng: random.Random, pool: list[str], free: float) -> str:
    if rng.random() < free:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))).capitalize() + "."
    weights = [1 / (k + 1) for k in range(len(pool))]  # Zipf: a few habits dominate
    return rng.choices(pool, weights=weights)[0]


@transaction.atomic
def corpus(rng, n: int, free: float, site, queues, agent, start_id: int) -> list[tuple]:
    """n conversations, each with its queue, intent and 1-4 agent replies (bulk-inserted)."""
    pools = habits(random.Random(7))
    made = []
    for i in range(n):
        queue_name = rng.choice(list(QUEUES))
        intent = rng.choice(QUEUES[queue_name])
        customer = Customer.objects.create(site=site, name=f"Bench {start_id + i}")
        conversation = Conversation.objects.create(
            site=site, customer=customer, status="resolved", queue=queues[queue_name],
            assignee=agent,
        )  # fmt: skip
        Participant.objects.create(conversation=conversation, role="customer", customer=customer)
        Participant.objects.create(conversation=conversation, role="agent", user=agent)
        Note.objects.create(conversation=conversation, kind="handoff", body="bench",
                            data={"intent": intent})  # fmt: skip
        replies = [draw(rng, pools[(queue_name, intent)], free) for _ in range(rng.randint(1, 4))]
        made.append((conversation, replies))
    return made


def cleanup(site) -> None:
    Message.objects.filter(conversation__site=site).delete()  # senders are protected
    Conversation.objects.filter(site=site).delete()
    Customer.objects.filter(site=site).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=1500, help="past conversations")
    parser.add_argument("--replay", type=int, default=150, help="conversations replayed")
    parser.add_argument("--free", type=float, default=0.3, help="share of free-text replies")
    parser.add_argument("--top", type=int, default=1, help="1: Tab only; 3: a click too")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    site, _ = Site.objects.get_or_create(key=SITE_KEY, defaults={"name": "Bench suggestions"})
    cleanup(site)
    queues = {name: Queue.objects.get_or_create(name=f"bench-{name}")[0] for name in QUEUES}
    agent, _ = get_user_model().objects.get_or_create(
        username="bench-suggest", defaults={"is_superuser": True, "first_name": "Bench"}
    )
    history = corpus(rng, args.history, args.free, site, queues, agent, 0)
    with transaction.atomic():
        for conversation, replies in history:
            sender = conversation.participants.get(role="agent")
            Message.objects.bulk_create(
                Message(
                    conversation=conversation, seq=n + 1, sender=sender, body=spelled(rng, body)
                )
                for n, body in enumerate(replies)
            )
    replay = corpus(rng, args.replay, args.free, site, queues, agent, args.history)
    actor = Actor.for_agent(agent)
    suggest.index_forget()

    t0 = time.perf_counter()
    suggest.suggestions_for(actor=actor, conversation_id=replay[0][0].pk, prefix="warm")
    build_ms = (time.perf_counter() - t0) * 1000
    latencies, typed_keys, used_keys, taken = [], 0, 0, 0
    for conversation, replies in replay:
        for reply in replies:
            typed_keys += len(reply)
            keys = len(reply)
            for n in range(3, len(reply)):
                t = time.perf_counter()
                found = suggest.suggestions_for(
                    actor=actor, conversation_id=conversation.pk, prefix=reply[:n]
                )
                latencies.append((time.perf_counter() - t) * 1000)
                if reply in found[: args.top]:
                    keys = n + 1  # typed n characters, then Tab (or one click)
                    taken += 1
                    break
            used_keys += keys
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
    replies_n = sum(len(r) for _, r in replay)
    print(f"history: {args.history} conversations, {sum(len(r) for _, r in history)} agent "
          f"replies ({args.free:.0%} free text); replayed: {args.replay} conversations, "
          f"{replies_n} replies, {typed_keys} characters; accept: top {args.top}")  # fmt: skip
    print(f"replies completed by a suggestion: {taken}/{replies_n} ({taken / replies_n:.0%})")
    print(f"keystrokes saved: {1 - used_keys / typed_keys:.1%} "
          f"({typed_keys - used_keys} of {typed_keys})")  # fmt: skip
    print(f"suggest calls: {len(latencies)}; latency ms p50 {statistics.median(latencies):.2f} "
          f"p90 {p(0.90):.2f} p99 {p(0.99):.2f} max {latencies[-1]:.2f}; "
          f"index build (first call) {build_ms:.0f} ms")  # fmt: skip
    cleanup(site)


if __name__ == "__main__":
    main()
