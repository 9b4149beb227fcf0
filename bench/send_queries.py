"""Statements and CPU per operation of the message path, in-process, against a real database.

For each operation a socket or the worker runs (a widget or console connect, a ping, a
customer's or an agent's ``message.send``, the language pipeline's task for that message,
a start and a take), this prints:

- the SQL statements it sends, by kind (Django's ``CaptureQueriesContext``; BEGIN is not
  a statement Django logs, so each ``atomic`` block adds one round trip more than shown),
- this process's CPU per operation (all threads: the publisher thread's frames count),
- the CPU of the PostgreSQL backend that served it (from /proc, on this machine).

It calls the same functions as the consumers and the Celery task (the consumers' own
glue, JSON and the socket are not in it: ws_pairs.py measures those), in a site of its
own (``bench-queries``: no bot flow, a queue without members) with its own customers and
one agent. Run it with the server's environment (``DATABASE_URL``, ``REDIS_URL``): frames
go to the real channel layer and nobody receives them.

    .venv/bin/python bench/send_queries.py --repeat 50
    .venv/bin/python bench/send_queries.py --repeat 1 --show send_c2a,pipeline_c2a
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MAX_REPEAT = 1000
QUEUE_PREFIX = f"bench-queries-{os.getpid()}"


def django_setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A Redis key prefix of our own: the pipeline tasks our sends queue must not reach a
    # running server's worker (its run would race ours), and no socket hears our frames.
    os.environ["REDIS_KEY_PREFIX"] = QUEUE_PREFIX
    import django

    django.setup()


def conversations_close(site_key: str) -> int:
    """Resolve what our runs left open (as each conversation's customer), so that no
    waiting customer of ours stays in the queue for the router's sweeps to walk every
    second (routing's positions_publish reads every open entry)."""
    from actions import conversations as flows
    from chat.actors import Actor
    from chat.models import Conversation

    closed = 0
    for conversation in Conversation.objects.filter(
        site__key=site_key, status__in=Conversation.OPEN_STATUSES
    ).select_related("customer"):
        flows.conversation_resolve(
            actor=Actor.for_customer(conversation.customer), conversation_id=conversation.pk
        )
        closed += 1
    return closed


def redis_cleanup() -> None:
    """Remove the tasks and keys queued under our own prefix."""
    import redis
    from django.conf import settings

    if settings.EMBEDDED_REDIS:
        return
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{QUEUE_PREFIX}*", count=1000):
        client.delete(key)


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend (same machine only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:  # nanoseconds on the CPU (a backend is one thread); /proc/PID/stat counts ticks
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except OSError:
        return None


def kind_of(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
    if head == "SELECT" and " FOR UPDATE" in sql.upper():
        return "SELECT FOR UPDATE"
    return head


class Ops:
    """Fresh conversations for each repetition, so that every send is a first send."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from agents.models import AgentProfile
        from chat.models import Site
        from routing.models import Queue

        queue, _ = Queue.objects.get_or_create(name="bench send_queries")
        self.site, _ = Site.objects.get_or_create(
            key="bench-queries", defaults={"name": "bench send_queries", "default_queue": queue}
        )
        user, created = get_user_model().objects.get_or_create(
            username="bench-queries-agent", defaults={"first_name": "Bench"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        AgentProfile.objects.get_or_create(
            user=user,
            defaults={"display_name": "Bench", "languages": ["en"], "max_concurrent_chats": 30000},
        )
        self.user = get_user_model().objects.get(pk=user.pk)
        self.k = 0

    def pair(self) -> dict[str, Any]:
        """A customer with a started conversation that the agent took."""
        from actions.agents import conversation_assign
        from actions.conversations import conversation_start
        from chat import services
        from chat.actors import Actor

        self.k += 1
        customer, token = services.visitor_session_create(
            site_key=self.site.key, origin=None, name=f"Bench q {self.k}", locale="en"
        )
        customer_actor = Actor.for_customer(customer)
        conversation, _ = conversation_start(actor=customer_actor, language="en")
        agent_actor = Actor.for_agent(self.user)
        conversation_assign(actor=agent_actor, conversation_id=conversation.pk)
        return {
            "customer": customer,
            "token": token,
            "customer_actor": customer_actor,
            "agent_actor": agent_actor,
            "conversation": conversation.pk,
        }


class ServerLoop:
    """An event loop in a thread of its own, standing in for daphne's: an operation run
    through ``on_loop`` is a database thread's call as the consumers make it (``chat.dbcalls``),
    so the frames it publishes at commit hop onto this loop and leave through the layer's
    asyncio connections (realtime's path inside the server), not the publisher thread's.
    The caller waits for them, and the loop's CPU is this process's: it counts."""

    def __init__(self) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="server-loop", daemon=True).start()

    def on_loop(self, fn):
        from asgiref.sync import SyncToAsync

        local = SyncToAsync.threadlocal
        local.main_event_loop, local.main_event_loop_pid = self.loop, os.getpid()
        try:
            return fn()
        finally:
            local.main_event_loop = local.main_event_loop_pid = None


def operations(ops: Ops) -> dict[str, Any]:
    """name -> (prepare() -> state, run(state)). prepare is not measured."""
    from actions.agents import agent_console_connect, conversation_assign
    from actions.conversations import conversation_start, message_send
    from actions.widget import queue_positions
    from agents.consumers import AgentConsumer
    from chat import selectors, services, widget_consumer
    from chat.actors import Actor
    from chat.services.pipeline import message_pipeline_process
    from chat.services.pipeline_batch import message_pipeline_process_many
    from chat.socket_reads import resume_page, session_snapshot

    server = ServerLoop()

    def send(state, who):
        actor = state["customer_actor"] if who == "c" else state["agent_actor"]
        state["n"] = state.get("n", 0) + 1
        message, _ = message_send(
            actor=actor,
            conversation_id=state["conversation"],
            body=f"Hello, this is message number {state['n']} about my order",
            client_msg_id=f"q{who}.{ops.k}.{state['n']}",
        )
        return message

    def sent(who):
        def prepare():
            # Steady state: the conversation's language is settled by earlier messages
            # (the first customer message of a conversation settles it: 10 more statements).
            state = ops.pair()
            for _ in range(2):
                earlier = send(state, who)
                message_pipeline_process(message_id=earlier.pk)
            state["message"] = send(state, who)
            return state

        return prepare

    def burst(who, size):
        def prepare():
            state = sent(who)()  # the language settled: a steady-state burst
            message_pipeline_process(message_id=state["message"].pk)
            state["burst"] = [send(state, who).pk for _ in range(size)]
            return state

        return prepare

    def widget_connect(state):
        # WidgetConsumer.connect: the token and the hello snapshot (last-seen is noted in
        # memory and stored in batches; the queue place only while waiting).
        customer = selectors.customer_get_from_token(token=state["token"])
        actor = Actor.for_customer(customer)
        session_snapshot(actor=actor)
        if state.get("waiting"):
            queue_positions(actor=actor)

    def widget_resume(state):
        # A widget that missed the agent's last message (after a reconnect): one page.
        resume_page(
            actor=state["customer_actor"],
            conversation_id=state["conversation"],
            after_seq=state["message"].seq - 1,
            limit=200,
        )

    def agent_connect(state):
        # AgentConsumer.connect after the session middleware's two reads (session, user).
        selectors.user_is_agent(ops.user)
        session_snapshot(actor=state["agent_actor"])
        agent_console_connect(user=ops.user, channel_name=state["channel"])

    def agent_prepare():
        state = ops.pair()
        state["channel"] = f"bench.queries.{ops.k}"
        agent_connect(state)
        return state

    def widget_ping(state):
        consumer = widget_consumer.WidgetConsumer()
        consumer.actor = state["customer_actor"]
        consumer.ping_sync()  # a widget with an open conversation; without one, no call

    def agent_ping(state):
        consumer = AgentConsumer()
        consumer.actor, consumer.channel_name = state["agent_actor"], state["channel"]
        consumer.ping_sync()

    def start(state):
        conversation_start(actor=state["actor"], language="en")

    def start_prepare():
        ops.k += 1
        customer, _ = services.visitor_session_create(
            site_key=ops.site.key, origin=None, name=f"Bench s {ops.k}", locale="en"
        )
        return {"actor": Actor.for_customer(customer)}

    def take_prepare():
        state = start_prepare()
        conversation, _ = conversation_start(actor=state["actor"], language="en")
        return {"conversation": conversation.pk}

    def take(state):
        conversation_assign(actor=Actor.for_agent(ops.user), conversation_id=state["conversation"])

    return {
        "widget_connect": (ops.pair, widget_connect),
        "agent_connect": (agent_prepare, agent_connect),
        "widget_ping": (ops.pair, widget_ping),
        "widget_resume": (sent("a"), widget_resume),
        "agent_ping": (agent_prepare, agent_ping),
        "start": (start_prepare, start),
        "take": (take_prepare, take),
        "send_c2a": (ops.pair, lambda s: send(s, "c")),
        "send_a2c": (ops.pair, lambda s: send(s, "a")),
        # The same sends with the frames leaving as inside the server (see ServerLoop).
        "send_c2a_asgi": (ops.pair, lambda s: server.on_loop(lambda: send(s, "c"))),
        "send_a2c_asgi": (ops.pair, lambda s: server.on_loop(lambda: send(s, "a"))),
        "pipeline_c2a": (sent("c"), lambda s: message_pipeline_process(message_id=s["message"].pk)),
        "pipeline_a2c": (sent("a"), lambda s: message_pipeline_process(message_id=s["message"].pk)),
        # A burst of 10 as the worker gets it (one message_pipeline_run_many task): the
        # figures are for the whole burst (divide by 10 for one message).
        "pipeline_burst10_c2a": (
            burst("c", 10),
            lambda s: message_pipeline_process_many(message_ids=s["burst"]),
        ),
        "pipeline_burst10_a2c": (
            burst("a", 10),
            lambda s: message_pipeline_process_many(message_ids=s["burst"]),
        ),
        # As the Celery worker runs it: celery's Django fixup closes the database connection
        # before and after every task (CELERY_DB_REUSE_MAX unset), so each task connects,
        # and its backend starts with cold caches. Backend CPU here is the new backend's
        # whole life (authentication included; the postmaster's fork is not counted).
        "pipeline_c2a_fresh": (
            sent("c"),
            lambda s: message_pipeline_process(message_id=s["message"].pk),
        ),
    }


def measure(name, prepare, run, repeat: int, show: bool) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chat import realtime

    kinds: Counter = Counter()
    statements = 0
    cpu = db = 0.0
    run(prepare())  # warm-up: imports, the language models, cached statements
    for i in range(repeat):
        state = prepare()
        realtime.flush(5.0)
        fresh = name.endswith("_fresh")
        if fresh:
            connection.close()
        db0, cpu0 = (0.0 if fresh else backend_cpu()), time.process_time()
        with CaptureQueriesContext(connection) as ctx:
            run(state)
        realtime.flush(5.0)  # the frames this operation published count for it
        cpu1, db1 = time.process_time(), backend_cpu()
        if fresh:
            connection.close()
        cpu += cpu1 - cpu0
        if db0 is not None and db1 is not None:
            db += db1 - db0
        queries = [q["sql"] for q in ctx.captured_queries if "pg_backend_pid" not in q["sql"]]
        statements += len(queries)
        kinds.update(kind_of(sql) for sql in queries)
        if show and i == 0:
            print(f"\n-- {name}: {len(queries)} statements")
            for sql in queries:
                print(f"   {sql[:220]}")
    return {
        "op": name,
        "statements": statements / repeat,
        "kinds": {k: v / repeat for k, v in kinds.most_common()},
        "cpu_ms": 1000.0 * cpu / repeat,
        "db_ms": 1000.0 * db / repeat,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=20, help="runs of each operation (averaged)")
    p.add_argument("--only", help="comma list of operations (default: all)")
    p.add_argument("--show", default="", help="comma list of operations whose SQL to print")
    args = p.parse_args(argv)
    if not 1 <= args.repeat <= MAX_REPEAT:
        p.error(f"--repeat must be 1..{MAX_REPEAT}")
    django_setup()
    from django.conf import settings

    ops = Ops()
    table = operations(ops)
    names = [n.strip() for n in args.only.split(",")] if args.only else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        p.error(f"unknown operations {unknown}; known: {', '.join(table)}")
    show = {n.strip() for n in args.show.split(",") if n.strip()}
    db = settings.DATABASES["default"]
    print(
        f"send_queries: {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}, DEBUG={settings.DEBUG}, "
        f"pipeline {'on' if settings.PARLEY_PIPELINE['ENABLED'] else 'off'}, "
        f"{args.repeat} runs each"
    )
    try:
        rows = [measure(n, *table[n], args.repeat, n in show) for n in names]
    finally:
        conversations_close(ops.site.key)
        redis_cleanup()
    print("\n| operation | statements | by kind | CPU ms (this process) | CPU ms (backend) |")
    print("|---|---:|---|---:|---:|")
    for r in rows:
        kinds = ", ".join(f"{k} {v:g}" for k, v in r["kinds"].items())
        print(
            f"| {r['op']} | {r['statements']:g} | {kinds} | {r['cpu_ms']:.2f} | {r['db_ms']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
