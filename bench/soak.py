"""A soak: Parley's production topology under churning clients for hours (issue 15, item 6).

Starts `runparley --processes 2 --workers 2 --balancer-port P` (HAProxy in front) on
PostgreSQL and Redis with DEBUG=false, in its own database and Redis prefix; then, for
`--duration` seconds, visitors churn through the balancer (bench/churn.py): each connects,
starts a conversation, waits for an agent, exchanges `--messages` messages with them,
resolves and leaves, and a new visitor takes their place. Agents keep console sockets
(heartbeats, offers accepted at once, every customer message answered) and reopen their
console every `--agent-churn` seconds.

Every `--sample` seconds it prints the server's memory (RSS per role, psutil over
runparley's process tree), the channel layer's pub/sub subscriptions (PUBSUB CHANNELS
under the run's prefix) and the open sockets. At the end every client leaves; after
`--settle` seconds the subscriptions are read again. Verdict:

- memory growth after warm-up <= 2 % (mean of the first three samples after `--warmup`
  against the mean of the last three under load);
- subscriptions back to the baseline read before any client came;
- lost, duplicated, out-of-order messages 0, 0, 0 (database read-back + what each side saw;
  out of order: stored in another order than sent; pushes that came after a later seq
  are printed apart, as clients order by seq).

Loopback only; load and duration are bounded. Not part of CI.

    .venv/bin/python bench/soak.py --duration 7200 --visitors 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from churn import Agent, Ledger, Visitor, floor_prepare, now, visitor_make
from stack import (
    AutovacuumStandIn,
    Parley,
    db_checks,
    established,
    subscription_names,
    subscriptions,
    verdict_messages,
)

REPO = Path(__file__).resolve().parent.parent
MAX_DURATION = 6 * 3600
MAX_VISITORS = 200


def server_env(args) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}",
        "REDIS_URL": args.redis_url,
        "REDIS_KEY_PREFIX": args.prefix,
        "SECRET_KEY": "bench-soak-secret",
        "DEBUG": "false",
        "PARLEY_DATA_DIR": f"/tmp/{args.db}",
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_MAX_SIZE": "4",
    }


def createdb(name: str, *, fresh: bool = False) -> None:
    """The bench's own database; `fresh`: dropped first, so that no conversation of an
    earlier run holds the agents' capacity."""
    if not name.startswith("parley_"):
        raise SystemExit("--db must start with parley_")
    if fresh:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name],
                       check=True)  # fmt: skip
    exists = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
         f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)


class Table:
    COLS = ("t_min", "daphne_mb", "worker_mb", "beat_mb", "total_mb", "subs", "sockets",
            "convs", "done", "msgs", "reconn")  # fmt: skip

    def __init__(self) -> None:
        self.rows: list[dict] = []
        print("  ".join(f"{c:>9}" for c in self.COLS))

    def add(self, row: dict) -> None:
        self.rows.append(row)
        print("  ".join(f"{row.get(c, ''):>9}" if not isinstance(row.get(c), float)
                        else f"{row[c]:>9.1f}" for c in self.COLS))  # fmt: skip


def sample(parley: Parley, args, ledger: Ledger, t0: float, ports: list[int]) -> dict:
    rss = parley.rss_mb()
    return {
        "t_min": round((now() - t0) / 60, 1),
        "daphne_mb": rss.get("daphne", 0.0),
        "worker_mb": rss.get("worker", 0.0),
        "beat_mb": rss.get("beat", 0.0),
        "total_mb": rss.get("total", 0.0),
        "subs": subscriptions(args.redis_url, args.prefix),
        "sockets": established(ports),
        "convs": len(ledger.conversations),
        "done": ledger.visitors_done,
        "msgs": len(ledger.sent),
        "reconn": sum(ledger.reconnects.values()),
        "pids": parley.pids(),
    }


async def run(args, parley: Parley, agents_creds, site_key: str) -> dict:
    from asgiref.sync import sync_to_async
    from django.conf import settings

    base = f"http://127.0.0.1:{args.balancer_port}"
    ws_base = f"ws://127.0.0.1:{args.balancer_port}"
    backends = [args.port + i for i in range(args.processes)]
    ledger = Ledger(capacity=args.capacity)
    table = Table()
    t0 = now()
    baseline = sample(parley, args, ledger, t0, backends)
    table.add(baseline)
    end = t0 + args.duration
    hard = end + 600  # nothing outlives the run by more than this

    agents = [Agent(c, ws_base, base, settings.SESSION_COOKIE_NAME, ledger) for c in agents_creds]
    await asyncio.gather(*(a.start(hard) for a in agents))

    async def agent_churn() -> None:
        while now() < end and args.agent_churn > 0:
            await asyncio.sleep(args.agent_churn / len(agents))
            agent = random.choice(agents)
            agent.conn.drop()  # reconnects, resumes its chats

    async def visitor_slot(i: int) -> None:
        await asyncio.sleep(random.random() * 10)
        n = 0
        while now() < end:
            n += 1
            token = await sync_to_async(visitor_make)(site_key, base, f"soak {i}.{n}")
            think = (args.think * 0.5, args.think * 1.5)
            v = Visitor(token, ws_base, base, ledger, args.messages, think)
            await v.run(hard, patience=args.patience)

    async def sampler() -> None:
        while now() < end:
            await asyncio.sleep(args.sample)
            table.add(sample(parley, args, ledger, t0, backends))

    slots = [asyncio.create_task(visitor_slot(i)) for i in range(args.visitors)]
    side = [asyncio.create_task(sampler()), asyncio.create_task(agent_churn())]
    await asyncio.wait(slots, timeout=args.duration + 600)
    for t in side + slots:
        t.cancel()
    under_load = list(table.rows)
    await asyncio.gather(*(a.close() for a in agents))
    print(f"clients gone at {(now() - t0) / 60:.1f} min; settling {args.settle:.0f} s")
    await asyncio.sleep(args.settle)
    after = sample(parley, args, ledger, t0, backends)
    after["names"] = subscription_names(args.redis_url, args.prefix)
    table.add(after)
    return {"ledger": ledger, "baseline": baseline, "rows": under_load, "after": after}


def memory_verdict(rows: list[dict], warmup_min: float) -> dict:
    warm = [r for r in rows if r["t_min"] >= warmup_min]
    if len(warm) < 6:
        return {"growth_pct": None, "why": f"only {len(warm)} samples after warm-up"}
    first = sum(r["total_mb"] for r in warm[:3]) / 3
    last = sum(r["total_mb"] for r in warm[-3:]) / 3
    out = {"first_mb": round(first, 1), "last_mb": round(last, 1),
           "growth_pct": round(100 * (last - first) / first, 2)}  # fmt: skip
    for role in ("daphne_mb", "worker_mb", "beat_mb"):
        a = sum(r[role] for r in warm[:3]) / 3
        b = sum(r[role] for r in warm[-3:]) / 3
        out[role.replace("_mb", "_growth_pct")] = round(100 * (b - a) / a, 2) if a else None
    restarts = {r["t_min"]: r["pids"] for r in warm}
    pids = {json.dumps(p, sort_keys=True) for p in restarts.values()}
    out["process_set_changed"] = len(pids) > 1
    return out


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=7200.0)
    p.add_argument("--warmup", type=float, default=900.0, help="seconds before memory counts")
    p.add_argument("--sample", type=float, default=60.0)
    p.add_argument("--settle", type=float, default=90.0, help="seconds after the clients left")
    p.add_argument("--visitors", type=int, default=30, help="concurrent visitors")
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--capacity", type=int, default=4, help="chats per agent")
    p.add_argument("--messages", type=int, default=5, help="customer messages per visit")
    p.add_argument("--think", type=float, default=4.0, help="mean seconds between messages")
    p.add_argument("--patience", type=float, default=300.0, help="a visitor waits this long")
    p.add_argument("--agent-churn", type=float, default=600.0,
                   help="each agent's console is cut about this often (0: never)")  # fmt: skip
    p.add_argument("--port", type=int, default=8711, help="first ASGI port")
    p.add_argument("--balancer-port", type=int, default=8710)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--db", default="parley_chaos_soak")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/6")
    p.add_argument("--prefix", default="chaos-soak")
    p.add_argument("--json", help="write every figure to this file")
    args = p.parse_args()
    # SIGTERM ends the run through the finally blocks: the servers, Redis and the database
    # proxy this bench started stop with it (killed outright, they outlived it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 60 <= args.duration <= MAX_DURATION or not 1 <= args.visitors <= MAX_VISITORS:
        p.error(f"--duration 60..{MAX_DURATION}, --visitors 1..{MAX_VISITORS}")
    if args.agents * args.capacity < args.visitors:
        p.error("--agents x --capacity must cover --visitors")
    if "127.0.0.1" not in args.redis_url and "localhost" not in args.redis_url:
        p.error("loopback Redis only")
    args.warmup = min(args.warmup, args.duration / 4)

    env = server_env(args)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "REDIS_KEY_PREFIX",
                                           "SECRET_KEY", "DEBUG", "PARLEY_DATA_DIR")})  # fmt: skip
    os.environ["DATABASE_POOL_MAX_SIZE"] = "4"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    Path(env["PARLEY_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    createdb(args.db)
    sys.path.insert(0, str(REPO))
    import django

    print(f"soak: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
          f"duration {args.duration:.0f} s, {args.visitors} visitors, {args.agents} agents x "
          f"{args.capacity}, {args.messages} messages per visit, think {args.think} s")  # fmt: skip
    parley = Parley(env, args.port, args.balancer_port, args.processes, args.workers,
                    Path(env["PARLEY_DATA_DIR"]) / "runparley.log")  # fmt: skip
    parley.start()
    print(f"runparley pid {parley.proc.pid} (process group); children {parley.pids()}")
    vacuum = AutovacuumStandIn(args.db)
    if vacuum.start():
        print("PostgreSQL's autovacuum is off here: VACUUM ANALYZE every 60 s in its place")
    try:
        django.setup()
        site_key, creds = floor_prepare(args.prefix, args.agents, args.capacity)
        result = asyncio.run(run(args, parley, creds, site_key))
        from django.db import close_old_connections

        close_old_connections()
        ledger = result["ledger"]
        checks = db_checks(site_key, ledger.conversations)
    finally:
        parley.stop()
    msgs = verdict_messages(ledger, checks["rows"])
    mem = memory_verdict(result["rows"], args.warmup / 60)
    base_subs, after_subs = result["baseline"]["subs"], result["after"]["subs"]
    offers = ledger.offers - ledger.offers_unanswered
    print("\n== soak verdict ==")
    print(f"visits: {len(ledger.conversations)} conversations, {ledger.visitors_done} completed, "
          f"failed {dict(ledger.visitors_failed)}; reconnects {dict(ledger.reconnects)}; "
          f"resumes {ledger.resumes}; resends {ledger.retries}")  # fmt: skip
    print(f"messages: {msgs}")
    print(f"offers: {ledger.offers}, accepted on the first try {ledger.offers_accepted_first} "
          f"({100 * ledger.offers_accepted_first / max(1, offers):.2f}% of answered), failed "
          f"{dict(ledger.offers_failed)}, unanswered (socket cut) {ledger.offers_unanswered}; "
          f"offers ended {dict(ledger.offers_ended)}; set away for missed offers {ledger.set_away}")  # fmt: skip
    unseen = {i: st for i, st in checks["offers"].items() if i not in ledger.offers_seen}
    print(
        f"offers in the database {len(checks['offers'])}, never reached a console "
        f"{len(unseen)} (by final state {dict(Counter(unseen.values()))})"
    )
    print(f"unrouted conversations: {len(checks['unrouted'])}; errors {dict(ledger.errors)}")
    print(f"memory after warm-up: {mem}")
    print(
        f"subscriptions: baseline {base_subs}, after the clients left {after_subs}: "
        f"{result['after']['names']}"
    )
    ok_mem = mem.get("growth_pct") is not None and mem["growth_pct"] <= 2.0
    ok_subs = after_subs is not None and base_subs is not None and after_subs <= base_subs
    lost = msgs["lost_not_stored"] + msgs["lost_not_delivered"]
    # Out of order is what a sender's peer would show: a conversation stored in another
    # order than its sender sent. Pushes may arrive after a later seq (two processes or
    # database threads publish after their commits); docs/protocol.md has clients hold
    # them by seq and resume the gap, so those are counted apart, not as reordered.
    reorder = msgs["out_of_order_stored"]
    ok_msgs = lost == 0 and msgs["duplicated"] == 0 and reorder == 0
    print(f"VERDICT memory {'PASS' if ok_mem else 'FAIL'} "
          f"({mem.get('growth_pct')}% <= 2%); subscriptions {'PASS' if ok_subs else 'FAIL'} "
          f"({after_subs} vs {base_subs}); lost/dup/reorder {lost}/{msgs['duplicated']}/"
          f"{reorder} {'PASS' if ok_msgs else 'FAIL'}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "messages": msgs, "memory": mem, "rows": result["rows"],
            "after": result["after"], "baseline": result["baseline"],
            "offers": [ledger.offers, ledger.offers_accepted_first, dict(ledger.offers_failed)],
        }, indent=1, default=str))  # fmt: skip
    return 0 if ok_mem and ok_subs and ok_msgs else 1


if __name__ == "__main__":
    sys.exit(main())
