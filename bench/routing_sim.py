"""Routing simulation: the real router against PostgreSQL at about Uber's scale.

It creates (or recreates) its own database, fills it with agents and queues, and runs:

1. ``sim``: a compressed day. Conversations arrive (with bursts) and go through the real
   services with a virtual clock (``now=`` everywhere); simulated agents accept, decline or
   ignore offers (timeouts), resolve chats and drop off (consoles closed) and come back.
   Prints decisions, decision latency, the first-offer acceptance share, waits against
   the SLA and the ETA's error.
2. ``parallel``: N routing worker processes drain a backlog at once (real clock):
   decisions per second and decision latency p50/p99 under contention, then the zeros
   (no double assignment, no agent over capacity, nothing lost).
3. ``socket``: daphne started here against the same database; agent consoles and customer
   widgets on real sockets; queued-to-offer latency = the offer frame arriving on the
   agent's socket minus the conversation's ``queued_at`` (one clock: this machine).

Only 127.0.0.1 is used. Every loop is bounded in count and time. Run:

    .venv/bin/python bench/routing_sim.py            # everything, the issue's scale
    .venv/bin/python bench/routing_sim.py --phases parallel --backlog 2000

See docs/benchmarks.md ("Routing simulation") for figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import json
import math
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MAX_AGENTS = 5000
MAX_CONVERSATIONS = 100_000
MAX_SECONDS = 3600.0  # wall-clock bound of any phase


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def ms(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} p50={percentile(values, 0.5) * 1000:.2f} ms "
        f"p99={percentile(values, 0.99) * 1000:.2f} ms max={max(values) * 1000:.2f} ms"
    )


# --- environment and database ---------------------------------------------------------------
def configure_env(args) -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ["REDIS_URL"] = args.redis
    os.environ.setdefault("SECRET_KEY", "bench-routing-secret-not-for-production")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["CONN_MAX_AGE"] = "600"
    os.environ["CHANNEL_LAYER_PREFIX"] = f"bench-{args.db}"
    os.environ.setdefault("PARLEY_DATA_DIR", f"/tmp/{args.db}-data")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")


def django_setup() -> None:
    import django

    django.setup()


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=REPO,
        env=os.environ.copy(),
        check=True,
        timeout=300,
    )


# --- building the floor ---------------------------------------------------------------------
SKILLS = ["billing", "tech", "vip", "returns"]
LANGS = ["en", "fr", "de", "es"]


def build_floor(*, prefix: str, agents: int, queues: int, seed: int, sla: int = 120,
                offer_timeout: int = 20) -> dict[str, Any]:  # fmt: skip
    """Queues with required skills/languages, and agents subscribed to 1-3 of them, with
    the skills and languages to serve them. Bulk inserts: the setup is not measured."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from agents.models import AgentPresence, AgentProfile, tag_list
    from chat.models import Site
    from routing.models import Queue

    rng = random.Random(seed)
    qs = []
    for i in range(queues):
        qs.append(
            Queue.objects.create(
                name=f"{prefix}-q{i}",
                priority=1 if i == 0 else 0,
                required_skills=[SKILLS[i % len(SKILLS)]] if i % 3 == 1 else [],
                language=LANGS[i % len(LANGS)] if i % 4 == 3 else "",
                sla_seconds=sla if i % 2 == 0 else sla * 2,
                offer_timeout_seconds=offer_timeout,
                limit_mode=Queue.LimitMode.DYNAMIC,
            )
        )
    sites = [
        Site.objects.create(name=f"{prefix}-site{i}", default_queue=q) for i, q in enumerate(qs)
    ]
    User = get_user_model()
    password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(username=f"{prefix}-a{i}", first_name=f"A{i}", password=password)
            for i in range(agents)
        ]
    )
    profiles, memberships = [], []
    for user in users:
        mine = rng.sample(qs, k=min(len(qs), rng.randint(1, 3)))
        skills = sorted({s for q in mine for s in q.required_skills} | {rng.choice(SKILLS)})
        langs = sorted({q.language for q in mine if q.language} | {"en"})
        profiles.append(
            AgentProfile(
                user=user,
                display_name=user.first_name,
                skills=skills,
                languages=langs,
                max_concurrent_chats=rng.choice([2, 3, 3, 4]),
            )
        )
        memberships.append(mine)
    profiles = AgentProfile.objects.bulk_create(profiles)
    through = AgentProfile.queues.through
    through.objects.bulk_create(
        [
            through(agentprofile_id=p.pk, queue_id=q.pk)
            for p, mine in zip(profiles, memberships, strict=True)
            for q in mine
        ]
    )
    AgentPresence.objects.bulk_create(
        [
            AgentPresence(
                user_id=p.user_id,
                profile=p,
                capacity=p.max_concurrent_chats,
                display_name=p.display_name,
                skills_tag=tag_list(p.skills),
                languages_tag=tag_list(p.languages),
            )
            for p in profiles
        ]
    )
    from django.db import connection

    with connection.cursor() as cursor:  # fresh planner statistics after the bulk load
        cursor.execute("ANALYZE")
    return {"queues": qs, "sites": sites, "users": users}


def agents_online(users, *, now: dt.datetime, until: dt.datetime, share: float, seed: int) -> list:
    """Bring a share of the agents online with consoles that heartbeat until ``until``."""
    from agents.models import AgentConnection, AgentPresence

    rng = random.Random(seed)
    chosen = [u for u in users if rng.random() < share]
    ids = [u.pk for u in chosen]
    AgentConnection.objects.bulk_create(
        [AgentConnection(user_id=i, channel_name=f"sim.{i}", connected_at=now, last_heartbeat_at=until) for i in ids],
        ignore_conflicts=True,
    )  # fmt: skip
    AgentPresence.objects.filter(user_id__in=ids).update(
        status="online", reason="console", live_until=until, idle_since=now, console_lost_at=None
    )
    return chosen


def new_conversation(*, site, now: dt.datetime, priority: int = 0, language: str = ""):
    """A customer arrives and is queued (the router runs after this commit)."""
    from django.db import transaction

    from chat.models import Conversation, Customer, Participant
    from routing.services import conversation_enqueue

    with transaction.atomic():
        customer = Customer.objects.create(site=site, name="sim", last_seen_at=now)
        conversation = Conversation.objects.create(
            site=site, customer=customer, status="bot", language=language, priority=priority
        )
        Participant.objects.create(conversation=conversation, role="customer", customer=customer)
        conversation_enqueue(conversation=conversation, reason="sim arrival", now=now)
    return conversation


# --- timing the router --------------------------------------------------------------------------
class DecisionClock:
    """Times every route_entry call made anywhere in this process (the router's own entry
    point), with its outcome: the bench measures, it changes nothing."""

    def __init__(self) -> None:
        import routing.services.router as router

        self.router = router
        self.original = router.route_entry
        self.samples: list[tuple[float, str]] = []
        self.with_publish: list[float] = []

        def timed(**kw):
            started = time.perf_counter()
            decision = self.original(**kw)
            end = decision.committed_at or time.perf_counter()
            self.samples.append((end - started, decision.outcome))
            self.with_publish.append(time.perf_counter() - started)
            return decision

        router.route_entry = timed

    def decisions(self) -> list[float]:
        return [s for s, outcome in self.samples if outcome in ("offered", "nobody")]

    def close(self) -> None:
        self.router.route_entry = self.original


def zeros() -> dict[str, int]:
    """Double assignments, capacity breaches, load drift, lost conversations (all 0)."""
    from django.db.models import Count

    from agents.models import AgentPresence
    from chat.models import Conversation
    from routing.models import QueueEntry, Reservation
    from routing.services import loads_reconcile

    doubled = (
        Reservation.objects.filter(state="accepted").values("entry_id").annotate(n=Count("id")).filter(n__gt=1).count()
    )  # fmt: skip
    assigned = dict(
        Conversation.objects.filter(status="assigned").values_list("assignee_id").annotate(n=Count("id")).values_list("assignee_id", "n")
    )  # fmt: skip
    offered = dict(
        Reservation.objects.filter(state="offered").values_list("agent_id").annotate(n=Count("id")).values_list("agent_id", "n")
    )  # fmt: skip
    over = 0
    for user_id, capacity in AgentPresence.objects.values_list("user_id", "capacity"):
        if assigned.get(user_id, 0) + offered.get(user_id, 0) > capacity:
            over += 1
    waiting_without_entry = (
        Conversation.objects.filter(status__in=["queued", "offered", "reopened"])
        .exclude(pk__in=QueueEntry.objects.filter(state__in=["waiting", "offered"]).values("conversation_id"))
        .count()
    )  # fmt: skip
    offered_without_offer = (
        QueueEntry.objects.filter(state="offered")
        .exclude(pk__in=Reservation.objects.filter(state="offered").values("entry_id"))
        .count()
    )
    return {
        "double_assignments": doubled,
        "agents_over_capacity": over,
        "load_drift_fixed": loads_reconcile(),
        "lost_conversations": waiting_without_entry + offered_without_offer,
    }


# --- phase 1: the compressed day ----------------------------------------------------------------
def phase_sim(args) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from actions import conversations as conversation_actions
    from actions.agents import agent_console_connect, agent_console_disconnect, agent_heartbeat
    from agents.services import presence_vacuum
    from chat.actors import Actor
    from chat.exceptions import ParleyError
    from routing.models import QueueEntry, Reservation
    from routing.services import (
        offers_sweep,
        reservation_accept,
        reservation_decline,
        timers_sweep,
        waiting_sweep,
    )

    rng = random.Random(args.seed)
    t0 = timezone.now().replace(microsecond=0)
    day = dt.timedelta(seconds=args.day_seconds)
    horizon = t0 + day * 1.3
    floor = build_floor(prefix="sim", agents=args.agents, queues=args.queues, seed=args.seed)
    users = {u.pk: u for u in floor["users"]}
    online = agents_online(floor["users"], now=t0, until=horizon + dt.timedelta(hours=1),
                           share=args.online_share, seed=args.seed)  # fmt: skip
    sites = floor["sites"]
    print(f"sim: {len(users)} agents ({len(online)} online), {len(sites)} queues, "
          f"{args.conversations} conversations over {args.day_seconds:.0f} s of virtual time")  # fmt: skip

    # Arrivals: a daily wave (busy afternoon) plus bursts, sampled by thinning.
    def intensity(x: float) -> float:  # x in [0, 1) of the day
        wave = 0.55 + 0.45 * math.sin(math.pi * x) ** 2
        burst = sum(2.5 for c in (0.22, 0.51, 0.78) if abs(x - c) < 0.012)
        return wave + burst

    peak = 0.55 + 0.45 + 2.5
    arrivals = []
    while len(arrivals) < args.conversations:
        x = rng.random()
        if rng.random() * peak < intensity(x):
            arrivals.append(x)
    arrivals.sort()
    events: list[tuple[dt.datetime, int, str, tuple]] = []
    seq = iter(range(10**9))

    def at(when: dt.datetime, kind: str, *data) -> None:
        heapq.heappush(events, (when, next(seq), kind, data))

    for x in arrivals:
        at(t0 + day * x, "arrive", rng.randrange(len(sites)), rng.random() < 0.05)
    tick = t0
    while tick < horizon:
        at(tick, "sweep")
        tick += dt.timedelta(seconds=1)
    for minute in range(int(args.day_seconds * 1.3 // 60)):
        at(t0 + dt.timedelta(minutes=minute), "churn")
    clock = DecisionClock()
    seen_offer = 0
    handled_events = Counter()
    wall0 = time.perf_counter()
    disconnected: set[int] = set()

    def schedule_answers(now: dt.datetime) -> None:
        nonlocal seen_offer
        for res_id, agent_id, conv_id in (
            Reservation.objects.filter(pk__gt=seen_offer, queue__name__startswith="sim-").order_by("pk").values_list("pk", "agent_id", "conversation_id")
        ):  # fmt: skip
            seen_offer = max(seen_offer, res_id)
            roll = rng.random()
            if agent_id in disconnected or agent_id not in users:
                continue
            if roll < args.accept_share:
                at(
                    now + dt.timedelta(seconds=rng.lognormvariate(1.0, 0.6)),
                    "accept",
                    res_id,
                    agent_id,
                    conv_id,
                )
            elif roll < args.accept_share + args.decline_share:
                at(now + dt.timedelta(seconds=rng.uniform(1, 6)), "decline", res_id, agent_id)
            # else: ignored; the sweeper expires it

    last_autovacuum = [time.perf_counter()]
    steps = 0
    while events and steps < 2_000_000 and time.perf_counter() - wall0 < MAX_SECONDS:
        steps += 1
        now, _, kind, data = heapq.heappop(events)
        handled_events[kind] += 1
        try:
            if kind == "arrive":
                site_i, vip = data
                new_conversation(site=sites[site_i], now=now, priority=5 if vip else 0)
            elif kind == "accept":
                res_id, agent_id, conv_id = data
                reservation_accept(
                    actor=Actor.for_agent(users[agent_id]), reservation_id=res_id, now=now
                )
                handle = dt.timedelta(
                    seconds=rng.lognormvariate(math.log(args.handle_seconds), 0.5)
                )
                at(now + handle, "resolve", conv_id, agent_id)
            elif kind == "decline":
                res_id, agent_id = data
                reservation_decline(
                    actor=Actor.for_agent(users[agent_id]), reservation_id=res_id, now=now
                )
            elif kind == "resolve":
                conv_id, agent_id = data
                conversation_actions.conversation_resolve(
                    actor=Actor.for_agent(users[agent_id]), conversation_id=conv_id
                )
            elif kind == "sweep":
                offers_sweep(now=now)
                if now.second % 5 == 0:
                    waiting_sweep(now=now)
                if now.second == 0 and now.minute % 5 == 0:
                    timers_sweep(now=now)
                if args.vacuum_interval > 0 and now.second % 15 == 0:
                    presence_vacuum()  # beat's task (about every 5 s of wall time here)
                if (
                    args.autovacuum_interval > 0
                    and time.perf_counter() - last_autovacuum[0] > args.autovacuum_interval
                ):
                    autovacuum_pass()
                    last_autovacuum[0] = time.perf_counter()
            elif kind == "churn":
                # A few consoles close (a tab, a network) and others come back.
                for user_id in rng.sample([u.pk for u in online], k=max(1, len(online) // 200)):
                    if user_id in disconnected:
                        continue
                    agent_console_disconnect(
                        user_id=user_id, channel_name=f"sim.{user_id}", now=now
                    )
                    disconnected.add(user_id)
                    at(now + dt.timedelta(seconds=rng.uniform(30, 300)), "return", user_id)
            elif kind == "return":
                (user_id,) = data
                user = users[user_id]
                agent_console_connect(user=user, channel_name=f"sim.{user_id}", now=now)
                agent_heartbeat(
                    user=user, channel_name=f"sim.{user_id}", now=horizon + dt.timedelta(minutes=30)
                )
                disconnected.discard(user_id)
        except ParleyError:
            pass  # an answer that lost a race (the offer was revoked or expired first)
        if kind in ("arrive", "accept", "decline", "resolve", "sweep", "return", "churn"):
            schedule_answers(now)
        connection.close_if_unusable_or_obsolete()
    wall = time.perf_counter() - wall0
    clock.close()
    decisions = clock.decisions()
    first = Reservation.objects.filter(queue__name__startswith="sim-", attempt=1)
    first_total = first.count()
    first_accepted = first.filter(state="accepted").count()
    entries = list(
        QueueEntry.objects.filter(queue__name__startswith="sim-", via__in=["offer", ""]).values(
            "enqueued_at", "first_offered_at", "assigned_at", "eta_seconds", "mode", "queue__sla_seconds", "state"
        )
    )  # fmt: skip
    answered = [e for e in entries if e["assigned_at"] and e["mode"] == "live"]
    waits = [(e["assigned_at"] - e["enqueued_at"]).total_seconds() for e in answered]
    to_offer = [
        (e["first_offered_at"] - e["enqueued_at"]).total_seconds()
        for e in entries if e["first_offered_at"] and e["mode"] == "live"
    ]  # fmt: skip
    within = sum(1 for e, w in zip(answered, waits, strict=True) if w <= e["queue__sla_seconds"])
    eta_pairs = [
        (e["eta_seconds"], (e["assigned_at"] - e["enqueued_at"]).total_seconds())
        for e in answered if e["eta_seconds"] is not None
    ]  # fmt: skip
    abs_err = [abs(p - a) for p, a in eta_pairs]
    signed = [p - a for p, a in eta_pairs]
    result = {
        "events": dict(handled_events),
        "wall_seconds": wall,
        "decisions": len(decisions),
        "decisions_per_s_router_time": len(decisions) / sum(decisions) if decisions else None,
        "decision_p50_ms": (percentile(decisions, 0.5) or 0) * 1000,
        "decision_p99_ms": (percentile(decisions, 0.99) or 0) * 1000,
        "offers": Reservation.objects.filter(queue__name__startswith="sim-").count(),
        "first_offer_accept_share": first_accepted / first_total if first_total else None,
        "answered_live": len(answered),
        "offline_messages": sum(1 for e in entries if e["mode"] == "offline"),
        "abandoned": sum(1 for e in entries if e["state"] == "abandoned"),
        "wait_to_offer_p50_s": percentile(to_offer, 0.5),
        "wait_to_offer_p99_s": percentile(to_offer, 0.99),
        "wait_answered_p50_s": percentile(waits, 0.5),
        "wait_answered_p90_s": percentile(waits, 0.9),
        "wait_answered_p99_s": percentile(waits, 0.99),
        "within_sla_share": within / len(answered) if answered else None,
        "eta_samples": len(eta_pairs),
        "eta_abs_error_p50_s": percentile(abs_err, 0.5),
        "eta_abs_error_p90_s": percentile(abs_err, 0.9),
        "eta_bias_median_s": percentile(signed, 0.5),
        "zeros": zeros(),
    }
    print(
        f"sim: {result['decisions']} decisions in {wall:.0f} s wall; router time per decision "
        f"{ms(decisions)}; {result['decisions_per_s_router_time']:.0f} decisions/s of router time\n"
        f"     first-offer acceptance {result['first_offer_accept_share']:.1%} of {first_total}; "
        f"answered live {len(answered)}, offline messages {result['offline_messages']}\n"
        f"     wait to answer p50 {result['wait_answered_p50_s']:.1f} s, p90 {result['wait_answered_p90_s']:.1f} s, "
        f"p99 {result['wait_answered_p99_s']:.1f} s; within SLA {result['within_sla_share']:.1%}\n"
        f"     ETA |error| p50 {result['eta_abs_error_p50_s'] or 0:.1f} s, p90 {result['eta_abs_error_p90_s'] or 0:.1f} s "
        f"(bias {result['eta_bias_median_s'] or 0:+.1f} s) over {len(eta_pairs)} waits\n"
        f"     zeros: {result['zeros']}"
    )  # fmt: skip
    return result


# --- phase 2: parallel routing workers ------------------------------------------------------------
def _parallel_worker(entry_ids: list[int], barrier, out) -> None:
    django_setup()
    from routing.services import route_entry

    timings = []
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for entry_id in entry_ids:
        t = time.perf_counter()
        decision = route_entry(entry_id=entry_id)
        done = time.perf_counter()
        timings.append(((decision.committed_at or done) - t, decision.outcome, done - t))
        if time.perf_counter() - started > MAX_SECONDS:
            break
    out.put((started, time.perf_counter(), timings))


AUTOVACUUM_TABLES = (
    "chat_conversation",
    "chat_conversationevent",
    "chat_participant",
    "chat_message",
    "routing_queueentry",
    "routing_reservation",
    "agents_agentconnection",
)


def autovacuum_pass() -> None:
    """What autovacuum (on by default in PostgreSQL, and expected in production) would do
    for the tables a day of routing churns: this machine runs with autovacuum off, so
    without it the dead rows pile up and the statistics stay those of the first minute."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in AUTOVACUUM_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def vacuum_while_running(interval: float):
    """What beat does in production (agents.tasks.presence_vacuum every
    PRESENCE_VACUUM_INTERVAL): this machine's PostgreSQL runs with autovacuum off. Returns
    the function that stops it."""
    import threading

    from django.db import connections

    from agents.services import presence_vacuum

    done = threading.Event()

    def run() -> None:
        while interval > 0 and not done.wait(interval):
            presence_vacuum()
        connections.close_all()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def stop() -> None:
        done.set()
        thread.join(timeout=30)

    return stop


def phase_parallel(args) -> dict[str, Any]:
    from django.db import connections
    from django.utils import timezone

    from routing.models import QueueEntry

    results = {}
    for workers in args.workers:
        prefix = f"par{workers}"
        now = timezone.now()
        floor = build_floor(
            prefix=prefix, agents=args.agents, queues=args.queues, seed=args.seed + workers
        )
        # Nobody online while the backlog arrives: every conversation waits.
        ids = [
            QueueEntry.objects.get(conversation=new_conversation(site=floor["sites"][i % len(floor["sites"])], now=now)).pk
            for i in range(args.backlog)
        ]  # fmt: skip
        agents_online(floor["users"], now=now, until=now + dt.timedelta(hours=2), share=1.0, seed=1)
        from django.db import connection

        with connection.cursor() as cursor:  # the statistics autovacuum would have by now
            cursor.execute("ANALYZE")
        random.Random(workers).shuffle(ids)
        connections.close_all()
        ctx = mp.get_context("spawn")
        barrier, out = ctx.Barrier(workers), ctx.Queue()
        procs = [
            ctx.Process(target=_parallel_worker, args=(ids[i::workers], barrier, out))
            for i in range(workers)
        ]
        for p in procs:
            p.start()
        stop = vacuum_while_running(args.vacuum_interval)
        parts = [out.get(timeout=MAX_SECONDS) for _ in procs]
        stop()
        for p in procs:
            p.join(timeout=60)
        start = min(p[0] for p in parts)
        end = max(p[1] for p in parts)
        timings = [t for p in parts for t in p[2]]
        decided = [s for s, outcome, _ in timings if outcome in ("offered", "nobody")]
        published = [w for _, outcome, w in timings if outcome in ("offered", "nobody")]
        offered = sum(1 for _, outcome, _ in timings if outcome == "offered")
        rate = len(decided) / (end - start)
        z = zeros()
        results[workers] = {
            "decisions": len(decided),
            "offered": offered,
            "wall_seconds": end - start,
            "decisions_per_s": rate,
            "p50_ms": percentile(decided, 0.5) * 1000,
            "p99_ms": percentile(decided, 0.99) * 1000,
            "with_publish_p50_ms": percentile(published, 0.5) * 1000,
            "with_publish_p99_ms": percentile(published, 0.99) * 1000,
            "zeros": z,
        }
        print(f"parallel x{workers}: {len(decided)} decisions ({offered} offers) in {end - start:.2f} s = "
              f"{rate:.0f} decisions/s\n    decision (to commit) {ms(decided)}\n"
              f"    with the after-commit publish {ms(published)}\n    zeros {z}")  # fmt: skip
    return results


# --- phase 3: queued-to-offer on a real socket ------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _session_for(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


async def _socket_run(args, base: str, sessions: list[str], tokens: list[str]) -> dict[str, Any]:
    import websockets

    ws_base = base.replace("http://", "ws://")
    latencies: list[float] = []
    errors: Counter = Counter()
    consoles = []
    for sid in sessions:
        ws = await websockets.connect(
            f"{ws_base}/ws/agent/",
            additional_headers={"Cookie": f"sessionid={sid}", "Origin": base},
        )
        consoles.append(ws)

    async def agent_loop(ws) -> None:
        deadline = time.monotonic() + args.socket_seconds + 30
        while time.monotonic() < deadline:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                continue
            except Exception:
                return
            frame = json.loads(raw)
            if frame["type"] == "reservation.offered":
                received = time.time()
                queued = dt.datetime.fromisoformat(
                    frame["reservation"]["conversation"]["queued_at"]
                )
                latencies.append(received - queued.timestamp())
                await ws.send(
                    json.dumps(
                        {"type": "reservation.accept", "reservation": frame["reservation"]["id"]}
                    )
                )
                conv = frame["reservation"]["conversation"]["id"]
                asyncio.get_running_loop().call_later(
                    args.socket_handle_seconds,
                    lambda c=conv: asyncio.ensure_future(ws.send(json.dumps({"type": "conversation.resolve", "conversation": c}))),
                )  # fmt: skip
            elif frame["type"] == "error":
                errors[frame.get("code")] += 1

    tasks = [asyncio.create_task(agent_loop(ws)) for ws in consoles]
    customers = []
    total = int(args.socket_rate * args.socket_seconds)
    warmup = min(args.socket_warmup, total // 2)
    started = time.monotonic()
    for k in range(total):
        if k == warmup:
            await asyncio.sleep(1.0)  # the warm-up's offers arrive; then measure afresh
            latencies.clear()
            started = time.monotonic() - k / args.socket_rate
        target = started + k / args.socket_rate
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            token = tokens[k]
            ws = await websockets.connect(
                f"{ws_base}/ws/widget/?token={token}", additional_headers={"Origin": base}
            )
            await ws.send(json.dumps({"type": "conversation.start", "id": k}))
            customers.append(ws)
        except Exception as exc:  # counted and printed
            errors[type(exc).__name__] += 1
    # Let the last offers arrive, then close everything.
    await asyncio.sleep(3)
    for ws in customers + consoles:
        await ws.close()
    for t in tasks:
        t.cancel()
    return {
        "latencies": latencies,
        "errors": dict(errors),
        "customers": len(customers),
        "sent": total,
    }


def phase_socket(args) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.db import connections
    from django.utils import timezone

    from routing.models import Queue

    floor = build_floor(prefix="sock", agents=args.socket_agents, queues=1, seed=args.seed)
    Queue.objects.filter(pk=floor["queues"][0].pk).update(
        required_skills=[], language="", limit_mode="none"
    )
    for user in get_user_model().objects.filter(username__startswith="sock-"):
        user.set_password("bench")
        user.save(update_fields=["password"])
    sessions = [
        _session_for(u) for u in get_user_model().objects.filter(username__startswith="sock-")
    ]
    site = floor["sites"][0]
    # Visitors made here (signed with the server's key), so that the server's REST throttle
    # and visitor creation are not part of the measured path.
    from chat.models import Customer
    from chat.services import visitor_token_issue

    total = int(args.socket_rate * args.socket_seconds)
    customers = Customer.objects.bulk_create(
        [Customer(site=site, name=f"c{i}") for i in range(total)]
    )
    tokens = [visitor_token_issue(customer=c) for c in customers]
    connections.close_all()
    port = _free_port()
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    log = open(f"/tmp/{args.db}-daphne.log", "wb")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except Exception:
                time.sleep(0.2)
        run = asyncio.run(_socket_run(args, base, sessions, tokens))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    lat = run["latencies"]
    print(f"socket: {run['customers']}/{run['sent']} customers at {args.socket_rate}/s, {len(sessions)} agents; "
          f"queued-to-offer on the agent's socket {ms(lat)}; errors {run['errors']}")  # fmt: skip
    del timezone
    return {
        "offers_seen": len(lat),
        "customers": run["customers"],
        "p50_ms": (percentile(lat, 0.5) or 0) * 1000,
        "p99_ms": (percentile(lat, 0.99) or 0) * 1000,
        "max_ms": max(lat) * 1000 if lat else None,
        "errors": run["errors"],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", default="parley_bench_routing", help="database to (re)create")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    p.add_argument("--phases", default="sim,parallel,socket")
    p.add_argument("--agents", type=int, default=2000)
    p.add_argument("--queues", type=int, default=12)
    p.add_argument("--conversations", type=int, default=40000)
    p.add_argument(
        "--day-seconds", type=float, default=4 * 3600, help="virtual length of the compressed day"
    )
    p.add_argument("--online-share", type=float, default=0.5)
    p.add_argument("--handle-seconds", type=float, default=300.0)
    p.add_argument("--accept-share", type=float, default=0.85)
    p.add_argument("--decline-share", type=float, default=0.07)
    p.add_argument("--workers", default="1,2,4")
    p.add_argument(
        "--vacuum-interval", type=float, default=5.0,
        help="seconds between presence vacuums, as beat's PRESENCE_VACUUM_INTERVAL (0: none)",
    )  # fmt: skip
    p.add_argument(
        "--autovacuum-interval", type=float, default=0.0,
        help="wall seconds between VACUUM (ANALYZE) passes over the churned tables, standing "
        "in for autovacuum, which this machine has off (0: none; autovacuum's naptime is 60)",
    )  # fmt: skip
    p.add_argument("--backlog", type=int, default=4000)
    p.add_argument("--socket-agents", type=int, default=50)
    p.add_argument("--socket-rate", type=float, default=20.0)
    p.add_argument("--socket-seconds", type=float, default=20.0)
    p.add_argument("--socket-handle-seconds", type=float, default=3.0)
    p.add_argument("--socket-warmup", type=int, default=10, help="conversations not measured")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", help="write the figures to this file")
    p.add_argument("--keep-db", action="store_true", help="do not recreate the database")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they come, even in a file
    args.workers = [int(w) for w in args.workers.split(",") if w]
    if not (0 < args.agents <= MAX_AGENTS and 0 < args.conversations <= MAX_CONVERSATIONS):
        p.error(f"agents <= {MAX_AGENTS}, conversations <= {MAX_CONVERSATIONS}")
    if args.socket_rate * args.socket_seconds > 5000 or max(args.workers) > 8:
        p.error("bounded: socket_rate*socket_seconds <= 5000, workers <= 8")
    if not args.redis.startswith(("redis://127.0.0.1", "redis://localhost")):
        p.error("the bench only talks to 127.0.0.1")
    configure_env(args)
    if not args.keep_db:
        recreate_database(args.db)
    django_setup()
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    out: dict[str, Any] = {"args": vars(args)}
    if "parallel" in phases:
        out["parallel"] = phase_parallel(args)
    if "sim" in phases:
        out["sim"] = phase_sim(args)
    if "socket" in phases:
        out["socket"] = phase_socket(args)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
