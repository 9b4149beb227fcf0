"""Idle widget sockets: what each one costs a running Parley server.

Opens N authenticated widget sockets (visitors made in-process by the same service as
``POST /api/v1/widget/sessions/``), keeps them open for a while with heartbeats (a ping per
socket every ``heartbeat_interval`` from ``hello``, spread evenly, as the widget does),
then closes them, and prints:

- connects: time to ``hello`` (p50/p99), failures;
- the server process's memory (RSS and PSS of the ASGI process) before and after, per socket;
- pong round trips (p50/p99/max), pings unanswered;
- the database per connect and per ping: statements' transactions and rows from
  ``pg_stat_database`` (all clients of the database: run it on a database of its own);
- the server's and the database's CPU per ping (from /proc, like ws_pairs.py);
- the channel layer's Redis subscriptions (``PUBSUB NUMSUB`` of the sockets' groups and
  the count of channels under the layer's prefix) before, while open, and after close:
  they must return to the baseline (leaked subscriptions otherwise).

Run it with the server's environment (``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``).
Only 127.0.0.1 / localhost; sockets, hold time and rates are bounded.

    .venv/bin/python bench/idle_sockets.py --url http://127.0.0.1:8100 --sockets 1000 --hold 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws_pairs import (  # a sibling script, not a package
    CpuMeter,
    check_local,
    django_setup,
    fmt_summary,
    http_json,
    now,
    summary_ms,
)

MAX_SOCKETS = 20_000
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


def customers_make(count: int, origin: str) -> list[str]:
    from chat import services
    from chat.models import Site

    Site.objects.get_or_create(key=SITE_KEY, defaults={"name": "bench idle sockets"})
    tag = os.urandom(3).hex()
    return [
        services.visitor_session_create(
            site_key=SITE_KEY, origin=origin, name=f"Idle {tag} #{i}", locale="en"
        )[1]
        for i in range(count)
    ]


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
    channels = client.pubsub_channels(f"{prefix}*")
    return {"channels": len(channels), "numpat": client.pubsub_numpat()}


class Idle:
    def __init__(self, args, ws_base: str, origin: str) -> None:
        self.args, self.ws_base, self.origin = args, ws_base, origin
        self.socks: list[Any] = []
        self.readers: list[asyncio.Task] = []
        self.hello_ms: list[float] = []
        self.failures: list[str] = []
        self.pings: dict[str, float] = {}
        self.pongs: list[float] = []
        self.closed_early = 0
        self.heartbeat = 20.0

    async def one(self, token: str, gate: asyncio.Semaphore) -> None:
        from websockets.asyncio.client import connect

        async with gate:
            t0 = now()
            try:
                ws = await connect(
                    f"{self.ws_base}/ws/widget/?token={token}",
                    origin=self.origin,
                    proxy=None,
                    open_timeout=self.args.connect_timeout,
                    ping_interval=None,
                    compression=None,
                )
                hello = json.loads(await asyncio.wait_for(ws.recv(), self.args.connect_timeout))
            except Exception as exc:
                self.failures.append(f"{type(exc).__name__}: {exc}")
                return
            if hello.get("type") != "hello":
                self.failures.append(str(hello)[:200])
                await ws.close()
                return
            self.heartbeat = float(hello.get("heartbeat_interval") or 20)
            self.hello_ms.append(now() - t0)
            self.socks.append(ws)
            self.readers.append(asyncio.create_task(self.reader(ws)))

    async def reader(self, ws) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                frame = json.loads(raw)
                if frame.get("type") == "pong":
                    sent = self.pings.pop(str(frame.get("ref")), None)
                    if sent is not None:
                        self.pongs.append(now() - sent)
        if not getattr(ws, "_bench_closing", False):
            self.closed_early += 1

    async def heartbeats(self, seconds: float) -> None:
        socks = list(self.socks)
        if not socks:
            return
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


async def amain(args, ws_base, origin, tokens, meter, server_pid) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {}
    out["subs_before"] = await loop.run_in_executor(None, layer_subscriptions)
    mem0 = rss_kb(server_pid)
    bench = Idle(args, ws_base, origin)
    gate = asyncio.Semaphore(args.connect_concurrency)
    db0 = await loop.run_in_executor(None, db_counters)
    t0 = now()
    await asyncio.gather(*(bench.one(t, gate) for t in tokens))
    out["connect_seconds"] = now() - t0
    db1 = await loop.run_in_executor(None, db_counters)
    await asyncio.sleep(2.0)
    mem1 = rss_kb(server_pid)
    out["subs_open"] = await loop.run_in_executor(None, layer_subscriptions)
    n = len(bench.socks)
    # Hold with heartbeats: CPU and database counters over the hold, per ping.
    c0 = meter.sample()
    pings = await bench.heartbeats(args.hold)
    await asyncio.sleep(1.0)
    c1 = meter.sample()
    db2 = await loop.run_in_executor(None, db_counters)
    mem2 = rss_kb(server_pid)
    await bench.close_all()
    await asyncio.sleep(args.settle)
    out["subs_after"] = await loop.run_in_executor(None, layer_subscriptions)
    mem3 = rss_kb(server_pid)
    usage = meter.usage(c0, c1)
    per_ping = {
        role: 1000.0 * v / max(1, pings or 0)
        for role, v in usage["seconds"].items()
        if role != "client"
    }
    out.update(
        sockets=n,
        failures=len(bench.failures),
        failure_samples=bench.failures[:5],
        hello=summary_ms(bench.hello_ms),
        pong=summary_ms(bench.pongs),
        pings_sent=pings,
        pings_unanswered=len(bench.pings),
        closed_early=bench.closed_early,
        memory_kb={"before": mem0, "open": mem1, "after_hold": mem2, "after_close": mem3},
        per_socket_kb={
            k: (mem1.get(k, 0) - mem0.get(k, 0)) / max(1, n) for k in ("rss", "pss") if k in mem0
        },
        db_per_connect={k: (db1[k] - db0[k]) / max(1, n) for k in db0},
        db_per_ping={k: (db2[k] - db1[k]) / max(1, pings or 1) for k in db0},
        cpu_pct_hold={k: v for k, v in usage.items() if k != "seconds"},
        cpu_ms_per_ping=per_ping,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--sockets", type=int, default=1000)
    p.add_argument("--hold", type=float, default=60.0, help="seconds open, with heartbeats")
    p.add_argument("--settle", type=float, default=10.0, help="seconds after closing")
    p.add_argument("--connect-concurrency", type=int, default=32)
    p.add_argument("--connect-timeout", type=float, default=30.0)
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    if not 1 <= args.sockets <= MAX_SOCKETS or not 0 < args.hold <= MAX_HOLD:
        p.error(f"--sockets must be 1..{MAX_SOCKETS} and --hold in (0, {MAX_HOLD:.0f}]")
    if not 1 <= args.connect_concurrency <= 256 or not 0 <= args.settle <= 120:
        p.error("--connect-concurrency must be 1..256 and --settle 0..120")
    base, ws_base = check_local(args.url)
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
    tokens = customers_make(args.sockets, base)
    print(f"idle_sockets: {len(tokens)} visitors made in {now() - t:.1f}s; server pid {server[0]}")
    results = asyncio.run(amain(args, ws_base, base, tokens, meter, server[0]))
    connection.close()
    r = results
    print(
        f"connected {r['sockets']} of {args.sockets} in {r['connect_seconds']:.1f}s "
        f"({r['failures']} failed {r['failure_samples'][:2]})"
    )
    print(f"  hello      {fmt_summary(r['hello'])}")
    print(
        f"  memory     server RSS {r['memory_kb']['before'].get('rss', 0) / 1024:.0f} -> "
        f"{r['memory_kb']['open'].get('rss', 0) / 1024:.0f} MiB open -> "
        f"{r['memory_kb']['after_hold'].get('rss', 0) / 1024:.0f} after the hold -> "
        f"{r['memory_kb']['after_close'].get('rss', 0) / 1024:.0f} after close; "
        f"per socket {r['per_socket_kb'].get('rss', 0):.1f} kB RSS, "
        f"{r['per_socket_kb'].get('pss', 0):.1f} kB PSS"
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
        f"closed by the server {r['closed_early']}"
    )
    print(
        f"  layer subs {r['subs_before']['channels']} before, {r['subs_open']['channels']} "
        f"open, {r['subs_after']['channels']} {args.settle:g}s after close"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2, default=str))
    return 0 if not r["failures"] and not r["pings_unanswered"] else 1


if __name__ == "__main__":
    sys.exit(main())
