"""Server-side latency of one bot step (goal: p99 <= 20 ms).

Walks many customers through the demo DIY-marketplace flow in-process, through the real
services and database, and times every step:

- ``engine``: bots.services.bot_session_advance alone, inside the transaction, on the
  locked conversation (what the bot adds to a customer's message); split into ``ask``
  (the step ends on the next question) and ``final`` (it hands off to routing, which
  runs inside the step, or resolves);
- ``start``: bots.services.bot_session_start alone (greeting and first question);
- ``send``: the whole chat.services.message_send call for the customer's message, bot step
  included, through commit and the after-commit publishes to the channel layer;
- ``reply``: one chat.services.message_create call made by the engine for a bot reply
  (part of ``engine``/``start``);
- ``enqueue``: routing.services.conversation_enqueue called by a handoff (part of
  ``final``);
- ``cpu``: this process's CPU time during an ``engine`` step (no waiting on PostgreSQL,
  no time lost to other processes): what the step costs when the machine is busy.

Run it with the environment of the server you want to measure (it migrates nothing: run
``manage.py migrate`` first). It creates its own site ("bench-bots") and deletes the
conversations it made at the end.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench_bots \
           REDIS_URL=redis://127.0.0.1:6379/11 SECRET_KEY=bench DEBUG=false
    .venv/bin/python manage.py migrate -v0
    .venv/bin/python bench/bot_step.py --conversations 300
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from actions import conversations as conversation_actions  # noqa: E402
from bots.demo import demo_flow_install  # noqa: E402
from bots.services import engine, engine_base, engine_endings  # noqa: E402
from chat.actors import Actor  # noqa: E402
from chat.models import Conversation, Customer, Message, Site  # noqa: E402

SITE_KEY = "bench-bots"
# The customer's side of one conversation: (body, choice). The last one hands off.
SCRIPTS = [
    [("An order", "order"), ("DIY-1234567", None), ("ana@example.com", None),
     ("my parcel is late, it has not arrived", None)],
    [("A product", "product"), ("Plumbing", "plumbing"), ("bo@example.com", None),
     ("which pipe fits my sink, can you advise me", None)],
    [("Une commande", "order"), ("12345", None), ("DIY-7654321", None), ("zoe@example.fr", None),
     ("je veux retourner la perceuse et être remboursé", None)],
]  # fmt: skip


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, samples: list[float]) -> None:
    if not samples:
        return
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<7} n={len(ms):<5} p50={pct(ms, 50):6.2f} ms  p90={pct(ms, 90):6.2f} ms  "
        f"p99={pct(ms, 99):6.2f} ms  max={max(ms):6.2f} ms  mean={statistics.fmean(ms):6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=300, help="customers (max 5000)")
    parser.add_argument("--warmup", type=int, default=20, help="conversations not measured")
    parser.add_argument("--keep", action="store_true", help="keep the conversations made")
    args = parser.parse_args()
    if not 1 <= args.conversations <= 5000:
        parser.error("--conversations must be 1-5000")

    flow = demo_flow_install()
    site, _ = Site.objects.get_or_create(key=SITE_KEY, defaults={"name": "Bench bots"})
    if site.default_flow_id != flow.pk:
        site.default_flow = flow
        site.save(update_fields=["default_flow"])
    print(
        f"database={connection.vendor} flow={flow.slug} v{flow.published_version.number} "
        f"conversations={args.conversations} (+{args.warmup} warm-up) "
        f"load average={os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )

    # Time the engine calls themselves by wrapping the functions the services call.
    engine_samples: list[float] = []
    start_samples: list[float] = []
    original_advance = engine.bot_session_advance
    original_start = engine.bot_session_start

    def timed(fn, sink, cpu_sink=None):
        def wrapper(**kw):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(**kw)
            finally:
                sink.append(time.perf_counter() - t0)
                if cpu_sink is not None:
                    cpu_sink.append(time.process_time() - c0)

        return wrapper

    import bots.services as bots_services

    # CPU time of this process during the step: Python and the database client, without
    # the waits for PostgreSQL; on a busy machine it shows what the step itself costs.
    engine_cpu: list[float] = []
    final_samples: list[float] = []  # steps that hand off (or resolve): routing included
    question_samples: list[float] = []  # steps that end on the next question

    def advance(**kw):
        before = len(engine_samples)
        result = timed(original_advance, engine_samples, engine_cpu)(**kw)
        if len(engine_samples) > before:
            final = kw["conversation"].status != Conversation.Status.BOT
            (final_samples if final else question_samples).append(engine_samples[-1])
        return result

    bots_services.bot_session_advance = advance
    bots_services.bot_session_start = timed(original_start, start_samples)
    # The share of a step spent storing the bot's replies (chat.services.message_create:
    # insert, seq, moderation, publish hooks), to tell the engine's cost from the chat core's.
    create_samples: list[float] = []
    original_create = engine_base.message_create
    engine_base.message_create = timed(original_create, create_samples)
    # The handoff's call into routing (routing.services.conversation_enqueue), part of `final`.
    enqueue_samples: list[float] = []
    # Called by the handoff (engine_endings) and by the entry points (engine) without a flow.
    original_enqueue = engine_endings.enqueue
    engine_endings.enqueue = engine.enqueue = timed(original_enqueue, enqueue_samples)

    send_samples: list[float] = []
    made: list[int] = []
    ids = itertools.count()
    handed_off = 0
    total = args.warmup + args.conversations
    try:
        for i in range(total):
            measuring = i >= args.warmup
            if i == args.warmup:
                engine_samples.clear()
                start_samples.clear()
                create_samples.clear()
                enqueue_samples.clear()
                engine_cpu.clear()
                final_samples.clear()
                question_samples.clear()
            customer = Customer.objects.create(site=site, name="")
            actor = Actor.for_customer(customer)
            script = SCRIPTS[i % len(SCRIPTS)]
            language = "fr" if script[0][0] == "Une commande" else "en"
            conversation, _ = conversation_actions.conversation_start(
                actor=actor, language=language
            )
            made.append(conversation.pk)
            for body, choice in script:
                t0 = time.perf_counter()
                conversation_actions.message_send(
                    actor=actor,
                    conversation_id=conversation.pk,
                    body=body,
                    client_msg_id=f"bench-{next(ids)}",
                    choice=choice,
                )
                if measuring:
                    send_samples.append(time.perf_counter() - t0)
            status = Conversation.objects.values_list("status", flat=True).get(pk=conversation.pk)
            handed_off += status == "queued"
    finally:
        bots_services.bot_session_advance = original_advance
        bots_services.bot_session_start = original_start
        engine_base.message_create = original_create
        engine_endings.enqueue = engine.enqueue = original_enqueue
        print(f"handed off to routing: {handed_off}/{total}")
        report("engine", engine_samples)
        report("  ask", question_samples)
        report("  final", final_samples)
        report("start", start_samples)
        report("send", send_samples)
        report("reply", create_samples)
        report("enqueue", enqueue_samples)
        report("cpu", engine_cpu)
        if engine_samples:
            share = sum(create_samples) / (sum(engine_samples) + sum(start_samples))
            print(f"share of engine+start time spent in message_create (replies): {share:.0%}")
        if engine_samples:
            goal = pct([s * 1000 for s in engine_samples], 99) <= 20
            print(f"goal p99(engine) <= 20 ms: {'met' if goal else 'MISSED'}")
        if not args.keep:
            with transaction.atomic():
                # Messages first: their sender (a participant) is a protected reference.
                Message.objects.filter(conversation_id__in=made).delete()
                Conversation.objects.filter(pk__in=made).delete()
                Customer.objects.filter(site=site, conversations__isnull=True).delete()


if __name__ == "__main__":
    main()
