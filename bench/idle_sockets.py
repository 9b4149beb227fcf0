"""Idle sockets: what each one costs a running Parley server.

Opens N authenticated sockets: widget sockets (visitors made in-process by the same service
as ``POST /api/v1/widget/sessions/``) and, with ``--consoles K``, K of them console sockets
(one agent each, ``bench-agent-NNNN`` with a Django session made here, as ws_pairs.py does).
It keeps them open for a while with heartbeats (a ping per socket every
``heartbeat_interval`` from ``hello``, spread evenly, as the clients do), then closes them,
and prints:

- connects: time to ``hello`` (p50/p99), failures, the server's CPU per connect;
- the server's memory (RSS and PSS summed over every ASGI process: behind the balancer,
  all of them) before and after, per socket;
- pong round trips (p50/p99/max), pings unanswered;
- the database per connect and per ping: statements' transactions and rows from
  ``pg_stat_database`` (all clients of the database: run it on a database of its own);
- the server's and the database's CPU per ping (from /proc, like ws_pairs.py);
- the channel layer's Redis subscriptions (``PUBSUB NUMSUB`` of the sockets' groups and
  the count of channels under the layer's prefix) before, while open, and after close:
  they must return to the baseline (leaked subscriptions otherwise).

The client is a Python process too, and a slow one: with ``--procs P`` the sockets are
split over P client processes (20,000 sockets need two: a file descriptor each, and the
CPU). Each client process freezes its heap once its sockets are open (``gc.freeze()``),
so that its own full collections do not show up as late pongs, and reports its longest
collection pause beside the pong figures.

Each proxied socket costs HAProxy two file descriptors, and a process may hold 20,000
here (the hard limit cannot be raised in this container): one HAProxy holds about 9,900
sockets, so ``--also`` spreads the sockets over more balancers in front of the same ASGI
processes (started by hand from the same template, config/balancer.py). ``--reuse``
gives earlier runs' visitors a fresh token each instead of making new ones.

Run it with the server's environment (``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``).
Only 127.0.0.1 / localhost; sockets, hold time and rates are bounded.

    .venv/bin/python bench/idle_sockets.py --url http://127.0.0.1:8100 --sockets 1000 --hold 60
    # 20,000 mixed, through the balancer of `runparley --processes 2 --balancer-port 8910`
    # (and two more HAProxy instances on 8913 and 8914 in front of the same processes)
    .venv/bin/python bench/idle_sockets.py --url http://127.0.0.1:8910 --sockets 20000 \
        --also http://127.0.0.1:8913,http://127.0.0.1:8914 --consoles 2000 --procs 2 --hold 600
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws_pairs import (  # a sibling script, not a package
    CpuMeter,
    agents_prepare,
    agents_sessions_delete,
    check_local,
    django_setup,
    fmt_summary,
    http_json,
    now,
    summary_ms,
)

MAX_SOCKETS = 20_000
MAX_CONSOLES = 5_000
MAX_HOLD = 900.0
SITE_KEY = "bench-idle-sockets"


def rss_kb(pid: int) -> dict[str, int]:
    """VmRSS from status and Pss from smaps_rollup (kB)."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1])
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss"] = int(line.split()[1])
    return out


def customers_make(
    count: int, origin: str, reuse: bool = False, conversations: bool = False
) -> list[str]:
    """Visitors of the bench's site and a token each. With ``reuse``, the visitors earlier
    runs made get a fresh token each (as a page reload does: no database write), and only
    the shortfall is made (making 10,000 took 7 minutes on a loaded machine). With
    ``conversations`` (a site of their own), each new visitor has had a conversation, started
    and resolved here: their hello then carries it and its participants, as after a chat,
    without a waiting line for the router to walk."""
    from actions import conversations as flows
    from chat import services
    from chat.actors import Actor
    from chat.models import Customer, Site

    key = f"{SITE_KEY}-conv" if conversations else SITE_KEY
    site, _ = Site.objects.get_or_create(key=key, defaults={"name": "bench idle sockets"})
    tokens = []
    if reuse:
        for customer in Customer.objects.filter(site=site).order_by("id")[:count]:
            tokens.append(services.visitor_token_issue(customer=customer))
    tag = os.urandom(3).hex()
    for i in range(count - len(tokens)):
        customer, token = services.visitor_session_create(
            site_key=key, origin=origin, name=f"Idle {tag} #{i}", locale="en"
        )
        if conversations:
            actor = Actor.for_customer(customer)
            conversation, _ = flows.conversation_start(actor=actor, subject="idle")
            flows.conversation_resolve(actor=actor, conversation_id=conversation.pk)
        tokens.append(token)
    return tokens


def db_counters() -> dict[str, float]:
    from django.db import connection

    names = ("xact_commit", "tup_fetched", "tup_updated", "tup_inserted", "sessions")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            f"SELECT {', '.join(names)} FROM pg_stat_database WHERE datname = current_database()"
        )
        row = cursor.fetchone()
    return dict(zip(names, map(float, row), strict=True))


def layer_subscriptions() -> dict[str, int]:
    """Channels with subscribers under the layer's prefix (the pub/sub layer subscribes a
    channel per socket and per group)."""
    import redis
    from django.conf import settings

    config = settings.CHANNEL_LAYERS["default"].get("CONFIG", {})
    prefix = config.get("prefix", "")
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Exactly this layer's names (another deployment's prefix may start with this one).
    channels = client.pubsub_channels(f"{prefix}specific.*") + client.pubsub_channels(
        f"{prefix}__group__*"
    )
    return {"channels": len(channels), "numpat": client.pubsub_numpat()}


class Idle:
    """One client process's sockets: connect, heartbeats, close."""

    def __init__(self, args, fronts: list[tuple[str, str]], cookie_name: str) -> None:
        self.args, self.fronts = args, fronts  # (origin, ws base) of each balancer
        self.cookie_name = cookie_name
        self.socks: list[Any] = []
        self.readers: list[asyncio.Task] = []
        self.hello_ms: list[float] = []
        self.failures: list[str] = []
        self.pings: dict[str, float] = {}
        self.pongs: list[float] = []
        self.closed_early = 0
        self.heartbeat = 20.0
        self.gc_pauses: list[float] = []
        self._gc_started = 0.0

    def gc_probe(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(1000.0 * (time.perf_counter() - self._gc_started))

    async def one(self, cred: tuple[str, str, int], gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        kind, secret, k = cred
        origin, ws_base = self.fronts[k % len(self.fronts)]
        if kind == "console":
            url, headers = f"{ws_base}/ws/agent/", {"Cookie": f"{self.cookie_name}={secret}"}
        else:
            url, headers = f"{ws_base}/ws/widget/?token={secret}", {}
        async with gate:
            t0 = now()
            try:
                ws = await connect(
                    url,
                    origin=origin,
                    additional_headers=headers,
                    proxy=None,
                    open_timeout=self.args.connect_timeout,
                    ping_interval=None,
                    compression=None,
                )
                hello = json.loads(await asyncio.wait_for(ws.recv(), self.args.connect_timeout))
            except Exception as exc:
                self.failures.append(f"{kind} {type(exc).__name__}: {exc}")
                return
            if hello.get("type") != "hello":
                self.failures.append(f"{kind} {str(hello)[:200]}")
                await ws.close()
                return
            self.heartbeat = float(hello.get("heartbeat_interval") or 20)
            self.hello_ms.append(now() - t0)
            self.socks.append(ws)
            self.readers.append(asyncio.create_task(self.reader(ws)))

    async def reader(self, ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                if '"pong"' not in raw:  # a console gets the floor's frames too
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "pong":
                    sent = self.pings.pop(str(frame.get("ref")), None)
                    if sent is not None:
                        self.pongs.append(now() - sent)
        if not getattr(ws, "_bench_closing", False):
            self.closed_early += 1

    async def heartbeats(self, seconds: float) -> int:
        socks = list(self.socks)
        if not socks:
            return 0
        gap = self.heartbeat / len(socks)
        t0 = now()
        k = 0
        while now() - t0 < seconds:
            delay = t0 + k * gap - now()
            if delay > 0:
                await asyncio.sleep(delay)
            ws = socks[k % len(socks)]
            ref = f"i{k}"
            self.pings[ref] = now()
            with contextlib.suppress(Exception):
                await ws.send(json.dumps({"type": "ping", "id": ref, "t": int(time.time() * 1000)}))
            k += 1
        return k

    async def close_all(self) -> None:
        async def close(ws):
            ws._bench_closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 10)

        gate = asyncio.Semaphore(64)

        async def gated(ws):
            async with gate:
                await close(ws)

        await asyncio.gather(*(gated(ws) for ws in self.socks))


def client_process(args, fronts, cookie_name, creds, conn) -> None:
    """One client process: connect its share, report, hold when told, close when told."""

    async def run() -> None:
        loop = asyncio.get_running_loop()
        bench = Idle(args, fronts, cookie_name)
        gate = asyncio.Semaphore(max(1, args.connect_concurrency // args.procs))
        await loop.run_in_executor(None, conn.recv)  # "connect"
        await asyncio.gather(*(bench.one(c, gate) for c in creds))
        # Its sockets live until the end: no full collection of this process need walk them.
        gc.collect()
        gc.freeze()
        gc.callbacks.append(bench.gc_probe)
        conn.send({"connected": len(bench.socks)})
        await loop.run_in_executor(None, conn.recv)  # "hold"
        pings = await bench.heartbeats(args.hold)
        await asyncio.sleep(1.0)
        conn.send({"held": pings})
        await loop.run_in_executor(None, conn.recv)  # "close"
        await bench.close_all()
        conn.send(
            {
                "sockets": len(bench.socks),
                "failures": bench.failures,
                "hello_ms": bench.hello_ms,
                "pongs": bench.pongs,
                "pings_sent": pings,
                "pings_unanswered": len(bench.pings),
                "closed_early": bench.closed_early,
                "gc_pauses": bench.gc_pauses,
            }
        )

    asyncio.run(run())
    conn.close()
    # Forked from a process with database and Redis connections: leave without closing them.
    os._exit(0)


def rss_total(pids: list[int]) -> dict[str, int]:
    total: dict[str, int] = {}
    for pid in pids:
        for k, v in rss_kb(pid).items():
            total[k] = total.get(k, 0) + v
    return total


def run_bench(args, fronts, cookie_name, creds, meter, server_pids) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # The client processes fork first, before this one opens its database connection.
    ctx = multiprocessing.get_context("fork")
    children = []
    for i in range(args.procs):
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(
            target=client_process,
            args=(args, fronts, cookie_name, creds[i :: args.procs], child_end),
        )
        proc.start()
        child_end.close()  # a child that dies then shows as EOFError here, not a hang
        children.append((proc, parent_end))
    out["subs_before"] = layer_subscriptions()
    mem0 = rss_total(server_pids)
    db0 = db_counters()
    cpu_connect0 = meter.sample()
    t0 = now()
    for _, conn in children:
        conn.send("connect")
    n = sum(conn.recv()["connected"] for _, conn in children)
    out["connect_seconds"] = now() - t0
    cpu_connect1 = meter.sample()
    db1 = db_counters()
    time.sleep(2.0)
    mem1 = rss_total(server_pids)
    out["subs_open"] = layer_subscriptions()
    c0 = meter.sample()
    for _, conn in children:
        conn.send("hold")
    pings = sum(conn.recv()["held"] for _, conn in children)
    c1 = meter.sample()
    db2 = db_counters()
    mem2 = rss_total(server_pids)
    for _, conn in children:
        conn.send("close")
    results = [conn.recv() for _, conn in children]
    for proc, _ in children:
        proc.join(30)
    time.sleep(args.settle)
    out["subs_after"] = layer_subscriptions()
    mem3 = rss_total(server_pids)
    usage = meter.usage(c0, c1)
    connect_usage = meter.usage(cpu_connect0, cpu_connect1)
    per_ping = {
        role: 1000.0 * v / max(1, pings) for role, v in usage["seconds"].items() if role != "client"
    }
    per_connect = {
        role: 1000.0 * v / max(1, n)
        for role, v in connect_usage["seconds"].items()
        if role != "client"
    }
    failures = [f for r in results for f in r["failures"]]
    gc_pauses = [p for r in results for p in r["gc_pauses"]]
    out.update(
        sockets=n,
        consoles=sum(1 for kind, _, _ in creds if kind == "console"),
        server_pids=server_pids,
        failures=len(failures),
        failure_samples=failures[:5],
        hello=summary_ms([h for r in results for h in r["hello_ms"]]),
        pong=summary_ms([p for r in results for p in r["pongs"]]),
        pings_sent=pings,
        pings_unanswered=sum(r["pings_unanswered"] for r in results),
        closed_early=sum(r["closed_early"] for r in results),
        client_gc={"count": len(gc_pauses), "max_ms": max(gc_pauses, default=0.0)},
        memory_kb={"before": mem0, "open": mem1, "after_hold": mem2, "after_close": mem3},
        per_socket_kb={
            k: (mem1.get(k, 0) - mem0.get(k, 0)) / max(1, n) for k in ("rss", "pss") if k in mem0
        },
        per_socket_total_kb={k: mem1.get(k, 0) / max(1, n) for k in ("rss", "pss")},
        db_per_connect={k: (db1[k] - db0[k]) / max(1, n) for k in db0},
        db_per_ping={k: (db2[k] - db1[k]) / max(1, pings) for k in db0},
        cpu_pct_hold={k: v for k, v in usage.items() if k != "seconds"},
        cpu_ms_per_ping=per_ping,
        cpu_ms_per_connect=per_connect,
        load=os.getloadavg(),
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--consoles", type=int, default=0, help="of the sockets, console sockets")
    p.add_argument("--procs", type=int, default=1, help="client processes")
    p.add_argument("--hold", type=float, default=60.0, help="seconds open, with heartbeats")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after closing")
    p.add_argument("--connect-concurrency", type=int, default=32)
    p.add_argument("--connect-timeout", type=float, default=30.0)
    p.add_argument("--reuse", action="store_true", help="reuse earlier runs' visitors")
    p.add_argument(
        "--conversations", action="store_true", help="visitors who had a (resolved) conversation"
    )
    p.add_argument("--also", default="", help="more balancers' URLs (comma-separated)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    if not 1 <= args.sockets <= MAX_SOCKETS or not 0 < args.hold <= MAX_HOLD:
        p.error(f"--sockets must be 1..{MAX_SOCKETS} and --hold in (0, {MAX_HOLD:.0f}]")
    if not 1 <= args.connect_concurrency <= 256 or not 0 <= args.settle <= 120:
        p.error("--connect-concurrency must be 1..256 and --settle 0..120")
    if not 0 <= args.consoles <= min(args.sockets, MAX_CONSOLES) or not 1 <= args.procs <= 4:
        p.error(f"--consoles must be 0..min(--sockets, {MAX_CONSOLES}) and --procs 1..4")
    base, _ = check_local(args.url)
    # More than one balancer (--also): each proxied socket costs HAProxy two file
    # descriptors, and a process may hold 20,000 here, so 20,000 sockets need two.
    fronts = [check_local(u) for u in [args.url, *filter(None, args.also.split(","))]]
    django_setup()
    from django.conf import settings
    from django.db import connection

    status, _ = http_json("GET", f"{base}/healthz")
    if status != 200:
        raise SystemExit(f"{base}/healthz answered {status}; is the server running?")
    db = settings.DATABASES["default"]
    redis_url = urlsplit(settings.REDIS_URL)
    meter = CpuMeter(
        urlsplit(base).port or 80,
        str(db["NAME"]) if "postgresql" in db["ENGINE"] else None,
        (redis_url.port or 6379) if redis_url.scheme.startswith("redis") else None,
    )
    sample = meter.sample()
    server = sorted(sample["roles"].get("daphne", ()))
    if not server:
        raise SystemExit("the ASGI server process was not found by its port")
    t = now()
    tokens = customers_make(args.sockets - args.consoles, base, args.reuse, args.conversations)
    agents = agents_prepare(args.consoles) if args.consoles else []
    # Interleaved, so that each client process and each server process gets its share.
    kinds = [("widget", tok) for tok in tokens]
    step = max(1, len(kinds) // max(1, len(agents))) if agents else 0
    for i, agent in enumerate(agents):
        kinds.insert(min(len(kinds), i * (step + 1)), ("console", agent.session_key))
    creds = [(kind, secret, k) for k, (kind, secret) in enumerate(kinds)]
    print(
        f"idle_sockets: {len(tokens)} visitors and {len(agents)} agents made in "
        f"{now() - t:.1f}s; server pids {server}; load {os.getloadavg()}"
    )
    connection.close()
    try:
        r = run_bench(args, fronts, settings.SESSION_COOKIE_NAME, creds, meter, server)
    finally:
        if agents:
            agents_sessions_delete(agents)
        connection.close()
    print(
        f"connected {r['sockets']} of {args.sockets} ({r['consoles']} consoles) in "
        f"{r['connect_seconds']:.1f}s ({r['failures']} failed {r['failure_samples'][:2]})"
    )
    print(f"  hello      {fmt_summary(r['hello'])}")
    k = r["cpu_ms_per_connect"]
    print(
        f"  cpu/connect daphne {k.get('daphne', 0):.2f} ms + db {k.get('db_daphne', 0):.2f} ms "
        f"+ redis {k.get('redis', 0):.2f} ms; runner (balancer) {k.get('runner', 0):.2f} ms"
    )
    print(
        f"  memory     server RSS {r['memory_kb']['before'].get('rss', 0) / 1024:.0f} -> "
        f"{r['memory_kb']['open'].get('rss', 0) / 1024:.0f} MiB open -> "
        f"{r['memory_kb']['after_hold'].get('rss', 0) / 1024:.0f} after the hold -> "
        f"{r['memory_kb']['after_close'].get('rss', 0) / 1024:.0f} after close; "
        f"per socket {r['per_socket_kb'].get('rss', 0):.1f} kB RSS, "
        f"{r['per_socket_kb'].get('pss', 0):.1f} kB PSS (growth); whole RSS / sockets "
        f"{r['per_socket_total_kb'].get('rss', 0):.1f} kB"
    )
    c = r["db_per_connect"]
    print(
        f"  db/connect {c['xact_commit']:.2f} transactions, {c['tup_updated']:.2f} rows "
        f"updated, {c['tup_fetched']:.1f} fetched, {c['sessions']:.3f} new connections"
    )
    d = r["db_per_ping"]
    print(
        f"  db/ping    {d['xact_commit']:.2f} transactions, {d['tup_updated']:.2f} rows updated, "
        f"{d['tup_fetched']:.1f} fetched  (all clients of the database, idle sweeps included)"
    )
    m = r["cpu_ms_per_ping"]
    print(
        f"  cpu/ping   daphne {m.get('daphne', 0):.2f} ms + db {m.get('db_daphne', 0):.2f} ms; "
        f"worker {m.get('worker', 0):.2f}, beat {m.get('beat', 0):.2f} (their sweeps, over "
        f"{r['pings_sent']} pings in {args.hold:g}s)"
    )
    print(
        f"  pong       {fmt_summary(r['pong'])}; unanswered {r['pings_unanswered']}, "
        f"closed by the server {r['closed_early']}; client gc: {r['client_gc']['count']} "
        f"collections, longest {r['client_gc']['max_ms']:.0f} ms"
    )
    print(
        f"  layer subs {r['subs_before']['channels']} before, {r['subs_open']['channels']} "
        f"open, {r['subs_after']['channels']} {args.settle:g}s after close; load {r['load']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2, default=str))
    return 0 if not r["failures"] and not r["pings_unanswered"] else 1


if __name__ == "__main__":
    sys.exit(main())
