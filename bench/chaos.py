"""A chaos run: conversations at a steady rate through the balancer while the bench breaks
Parley's processes and the services under it (issue 15, item 4). One command:

    .venv/bin/python bench/chaos.py                 # 30 minutes
    .venv/bin/python bench/chaos.py --duration 600  # shorter

It starts, all on loopback and on ports of its own: a redis-server (no persistence), a TCP
proxy in front of the machine's PostgreSQL (bench/tcp_proxy.py; pausing it pauses "the
database" for Parley only), and `runparley --processes 2 --workers 2 --balancer-port P`
(HAProxy, DEBUG=false) on a database of its own through the proxy.

Visitors arrive at `--rate` per second (a session from `POST /api/v1/widget/sessions/`
through the balancer), start a conversation, wait for an agent, exchange `--messages`
messages and resolve (bench/churn.py). Agents accept every offer at once and answer every
message. Meanwhile, in turn and spread over the run: kill -9 of the ASGI process holding
the most sockets, of a Celery worker, of beat (runparley restarts them), a Redis restart
(down for `--redis-down` seconds, empty when it returns), a PostgreSQL pause of `--pause`
seconds, and a cut of `--drop` of the open sockets (TCP abort, no close frame).

At the end it prints and checks: lost, duplicated and out-of-order messages 0, 0, 0;
every conversation routed; no agent over capacity (sampled every 5 s from the database,
and as the agents saw it); healthy agents (socket up from offer to answer) accept >= 99.5 %
of offers on the first try; every child process alive at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from churn import Agent, Ledger, Visitor, floor_prepare, now, spawn, visitor_make
from soak import createdb
from stack import (
    REPO,
    AutovacuumStandIn,
    Parley,
    db_checks,
    established,
    verdict_messages,
    wait_port,
)
from ws_pairs import http_json

MAX_DURATION = 3 * 3600
FAULTS = ("kill_asgi", "kill_worker", "kill_beat", "restart_redis", "pause_pg", "drop_sockets")


class OwnRedis:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--logfile",
             str(self.workdir / "redis.log")],
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        if not wait_port(self.port, 10):
            raise SystemExit("own redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class PgBouncer:
    """Debian's PgBouncer in session mode on a port of the bench's own, in front of the
    machine's PostgreSQL (trusting loopback as it does): Parley's path to the database, and
    what the bench pauses (SIGSTOP, then SIGCONT). C, so it adds nothing measurable on a
    loaded machine; bench/tcp_proxy.py (Python) added seconds per request there."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.dir = port, workdir / "pgbouncer"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        (self.dir / "userlist.txt").write_text('"postgres" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n* = host=127.0.0.1 port=5432\n[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\n"
            "pool_mode = session\nmax_client_conn = 200\ndefault_pool_size = 40\n"
            "max_db_connections = 40\nignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in self.dir.iterdir():
            path.chmod(0o644)
        args = ["/usr/sbin/pgbouncer", str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "postgres"]  # PgBouncer refuses to run as root
        self.proc = subprocess.Popen(
            args, stdout=(self.dir / "log").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.pid = self.proc.pid


class Chaos:
    def __init__(self, args, parley: Parley, redis: OwnRedis, proxy: subprocess.Popen):
        self.args, self.parley, self.redis, self.proxy = args, parley, redis, proxy
        self.log: list[dict] = []
        self.windows: list[tuple[float, float]] = []
        self.conns: list = []  # live client sockets, for the cut

    def say(self, t0: float, text: str) -> None:
        print(f"[{(now() - t0) / 60:5.1f} min] {text}")

    def child_pid(self, role: str) -> int | None:
        procs = self.parley.children().get(role, [])
        direct = [p for p in procs if p.ppid() == self.parley.proc.pid]
        return random.choice(direct).pid if direct else None

    async def fault(self, name: str, t0: float) -> None:
        start = now()
        detail = ""
        if name == "kill_asgi":
            counts = {p: established([p]) for p in self.args.backends}
            port = max(counts, key=counts.get)
            pid = self.parley.daphne_for_port(port)
            if pid:
                os.kill(pid, signal.SIGKILL)
            detail = f"daphne pid {pid} on port {port} ({counts[port]} sockets)"
        elif name in ("kill_worker", "kill_beat"):
            pid = self.child_pid("worker" if name == "kill_worker" else "beat")
            if pid:
                os.kill(pid, signal.SIGKILL)
            detail = f"pid {pid}"
        elif name == "restart_redis":
            self.redis.kill()
            await asyncio.sleep(self.args.redis_down)
            self.redis.start()
            detail = f"down {self.args.redis_down:.0f} s, back empty"
        elif name == "pause_pg":
            os.kill(self.proxy.pid, signal.SIGSTOP)
            try:
                await asyncio.sleep(self.args.pause)
            finally:
                os.kill(self.proxy.pid, signal.SIGCONT)
            detail = f"paused {self.args.pause:.0f} s"
        elif name == "drop_sockets":
            live = [c for c in self.conns if c.up.is_set() and not c.closing]
            cut = random.sample(live, k=max(1, round(len(live) * self.args.drop)) if live else 0)
            for c in cut:
                c.drop()
            detail = f"{len(cut)} of {len(live)} sockets cut"
        self.windows.append((start, now()))
        self.log.append({"t_min": round((start - t0) / 60, 2), "fault": name, "detail": detail})
        self.say(t0, f"FAULT {name}: {detail}")


async def run(args, chaos: Chaos, creds, site_key: str) -> dict:
    from asgiref.sync import sync_to_async
    from django.conf import settings

    base = f"http://127.0.0.1:{args.balancer_port}"
    ws_base = f"ws://127.0.0.1:{args.balancer_port}"
    ledger = Ledger(capacity=args.capacity)
    t0 = now()
    end = t0 + args.duration
    hard = end + args.drain + 60
    agents = [Agent(c, ws_base, base, settings.SESSION_COOKIE_NAME, ledger) for c in creds]
    await asyncio.gather(*(a.start(hard) for a in agents))
    chaos.conns.extend(a.conn for a in agents)
    visits: set[asyncio.Task] = set()
    sessions = Counter()
    over_capacity: list[tuple] = []

    def session() -> str:
        status, payload = http_json(
            "POST", f"{base}/api/v1/widget/sessions/",
            {"site_key": site_key, "name": "chaos", "locale": "en"}, {"Origin": base}, timeout=15,
        )  # fmt: skip
        sessions[status] += 1
        if status == 200:
            return payload["token"]
        return visitor_make(site_key, base, "chaos (in-process)")

    async def visit() -> None:
        try:
            token = await sync_to_async(session, thread_sensitive=False)()
        except Exception as exc:
            ledger.visitors_failed[f"session: {type(exc).__name__}"] += 1
            return
        think = (args.think * 0.5, args.think * 1.5)
        v = Visitor(token, ws_base, base, ledger, args.messages, think)
        chaos.conns.append(v.conn)
        try:
            await v.run(hard, patience=args.patience)
        finally:
            chaos.conns.remove(v.conn)

    async def arrivals() -> None:
        k = 0
        while now() < end:
            k += 1
            target = t0 + k / args.rate
            await asyncio.sleep(max(0.0, target - now()))
            if len(visits) >= args.max_visits:
                ledger.visitors_failed["skipped (too many in flight)"] += 1
                continue
            task = spawn(visit())
            visits.add(task)
            task.add_done_callback(visits.discard)

    async def faults() -> None:
        plan = list(FAULTS) * args.rounds
        span = args.duration - args.warmup - args.cooldown
        for i, name in enumerate(plan):
            at = t0 + args.warmup + span * i / max(1, len(plan) - 1)
            await asyncio.sleep(max(0.0, at - now()))
            try:
                await chaos.fault(name, t0)
            except Exception as exc:
                chaos.say(t0, f"FAULT {name} failed: {exc!r}")

    def capacity_sample() -> list[tuple]:
        from django.db import connection

        try:
            return _capacity_sample()
        finally:
            connection.close()

    def _capacity_sample() -> list[tuple]:
        from django.db.models import Count, F

        from agents.models import AgentPresence
        from chat.models import Conversation

        bad = list(
            AgentPresence.objects.filter(
                user__username__startswith=site_key, load__gt=F("capacity")
            ).values_list("user__username", "load", "capacity")
        )
        per_agent = (
            Conversation.objects.filter(site__key=site_key, status="assigned")
            .values("assignee__username")
            .annotate(n=Count("id"))
            .filter(n__gt=args.capacity)
        )
        return bad + [(r["assignee__username"], r["n"], args.capacity) for r in per_agent]

    async def sampler() -> None:
        while now() < end + args.drain:
            await asyncio.sleep(5)
            try:
                found = await sync_to_async(capacity_sample, thread_sensitive=False)()
            except Exception as exc:
                chaos.say(t0, f"capacity sample failed: {exc!r}")
                continue
            if found:
                over_capacity.append((round((now() - t0) / 60, 2), found))
                chaos.say(t0, f"OVER CAPACITY {found}")

    async def progress() -> None:
        while now() < end + args.drain:
            await asyncio.sleep(60)
            chaos.say(t0, f"conversations {len(ledger.conversations)}, done "
                          f"{ledger.visitors_done}, in flight {len(visits)}, messages "
                          f"{len(ledger.sent)}, reconnects {dict(ledger.reconnects)}, "
                          f"failed {dict(ledger.visitors_failed)}")  # fmt: skip

    side = [spawn(sampler()), spawn(progress())]
    await asyncio.gather(arrivals(), faults())
    chaos.say(t0, f"arrivals stop; waiting for {len(visits)} visits (at most {args.drain:.0f} s)")
    if visits:
        await asyncio.wait(list(visits), timeout=args.drain)
    unfinished = len(visits)
    for t in list(visits) + side:
        t.cancel()
    await asyncio.sleep(3)  # the agents' last answers
    await asyncio.gather(*(a.close() for a in agents))
    return {
        "ledger": ledger, "over_capacity": over_capacity, "unfinished": unfinished,
        "sessions": dict(sessions), "minutes": (now() - t0) / 60,
    }  # fmt: skip


def offers_verdict(ledger: Ledger, windows: list[tuple[float, float]]) -> dict:
    answered = ledger.offers - ledger.offers_unanswered
    first = ledger.offers_accepted_first
    during = [o for o in ledger.offer_log if any(a - 1 <= o[0] <= b + 30 for a, b in windows)]
    quiet = [o for o in ledger.offer_log if o not in during]
    quiet_answered = [o for o in quiet if o[2] != "unanswered"]
    return {
        "offers": ledger.offers,
        "answered": answered,
        "accepted_first_try": first,
        "share_pct": round(100 * first / answered, 2) if answered else None,
        "failed": dict(ledger.offers_failed),
        "unanswered_socket_cut": ledger.offers_unanswered,
        "outside_faults_share_pct": round(
            100 * sum(1 for o in quiet_answered if o[2] == "ok") / len(quiet_answered), 2
        )
        if quiet_answered
        else None,
    }


def main() -> int:
    import argparse

    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=1800.0)
    p.add_argument("--rate", type=float, default=0.5, help="new conversations per second")
    p.add_argument("--agents", type=int, default=10)
    p.add_argument("--capacity", type=int, default=4)
    p.add_argument("--messages", type=int, default=4, help="customer messages per visit")
    p.add_argument("--think", type=float, default=3.0)
    p.add_argument("--patience", type=float, default=300.0)
    p.add_argument("--max-visits", type=int, default=150, help="visits in flight at most")
    p.add_argument("--rounds", type=int, default=0, help="times each fault runs (0: fit)")
    p.add_argument("--warmup", type=float, default=60.0)
    p.add_argument("--cooldown", type=float, default=90.0)
    p.add_argument("--drain", type=float, default=300.0)
    p.add_argument("--pause", type=float, default=5.0, help="PostgreSQL pause, seconds")
    p.add_argument("--redis-down", type=float, default=3.0)
    p.add_argument("--drop", type=float, default=0.10, help="share of sockets cut")
    p.add_argument("--pg-proxy", choices=("pgbouncer", "python"), default="pgbouncer",
                   help="what stands between Parley and PostgreSQL, paused by the bench")  # fmt: skip
    p.add_argument("--port-base", type=int, default=8720)
    p.add_argument("--db", default="parley_chaos")
    p.add_argument("--json", help="write every figure to this file")
    args = p.parse_args()
    # SIGTERM ends the run through the finally blocks: the servers, Redis and the database
    # proxy this bench started stop with it (killed outright, they outlived it).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 120 <= args.duration <= MAX_DURATION or not 0 < args.rate <= 5:
        p.error(f"--duration 120..{MAX_DURATION}, --rate (0, 5]")
    if not 0 < args.drop <= 0.5 or not 0 < args.pause <= 30 or not 0 < args.redis_down <= 30:
        p.error("--drop (0, 0.5], --pause and --redis-down (0, 30] s")
    span = args.duration - args.warmup - args.cooldown
    args.rounds = args.rounds or max(1, int(span // (len(FAULTS) * 120)))
    redis_port, proxy_port = args.port_base, args.port_base + 1
    args.balancer_port, first = args.port_base + 2, args.port_base + 3
    args.backends = [first, first + 1]
    data = Path(f"/tmp/{args.db}")
    data.mkdir(parents=True, exist_ok=True)
    prefix = "chaos"
    server_env = {
        **os.environ,
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{proxy_port}/{args.db}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "REDIS_KEY_PREFIX": prefix,
        "SECRET_KEY": "bench-chaos-secret",
        "DEBUG": "false",
        "PARLEY_DATA_DIR": str(data),
        "LOG_LEVEL": "WARNING",
        "DATABASE_POOL_MAX_SIZE": "4",
    }
    # The bench itself reads the database directly (not through the proxy it pauses).
    os.environ.update({**{k: server_env[k] for k in ("REDIS_URL", "REDIS_KEY_PREFIX",
                       "SECRET_KEY", "DEBUG", "PARLEY_DATA_DIR", "DATABASE_POOL_MAX_SIZE")},
                       "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.db}"})  # fmt: skip
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    createdb(args.db, fresh=True)
    print(f"chaos: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, duration "
          f"{args.duration:.0f} s, {args.rate}/s conversations, {args.agents} agents x "
          f"{args.capacity}, faults {list(FAULTS)} x {args.rounds}")  # fmt: skip
    redis = OwnRedis(redis_port, data)
    redis.start()
    if args.pg_proxy == "pgbouncer":
        bouncer = PgBouncer(proxy_port, data)
        bouncer.start()
        proxy = bouncer.proc
    else:
        proxy = subprocess.Popen(
            [sys.executable, str(REPO / "bench" / "tcp_proxy.py"), "--listen", str(proxy_port)],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    # A fresh log per run: the verdicts read restarts and 500s from it (an earlier run's
    # lines in the same data directory were counted as this run's).
    run_log = data / "runparley.log"
    if run_log.exists():
        run_log.replace(data / "runparley.previous.log")
    parley = Parley(server_env, first, args.balancer_port, 2, 2, run_log)
    try:
        if not wait_port(proxy_port, 10):
            raise SystemExit(f"{args.pg_proxy} did not start on {proxy_port}")
        parley.start()
        print(f"runparley pid {parley.proc.pid}; children {parley.pids()}; redis pid "
              f"{redis.proc.pid}; {args.pg_proxy} pid {proxy.pid}")  # fmt: skip
        if AutovacuumStandIn(args.db).start():  # straight to PostgreSQL, past the proxy
            print("PostgreSQL's autovacuum is off here: VACUUM ANALYZE every 60 s in its place")
        sys.path.insert(0, str(REPO))
        import django

        django.setup()
        site_key, creds = floor_prepare(prefix, args.agents, args.capacity)
        chaos = Chaos(args, parley, redis, proxy)
        result = asyncio.run(run(args, chaos, creds, site_key))
        from django.db import close_old_connections

        close_old_connections()
        ledger = result["ledger"]
        checks = db_checks(site_key, ledger.conversations)
        children = {role: len(pids) for role, pids in parley.pids().items()}
        direct = {
            role: sum(1 for q in procs if q.ppid() == parley.proc.pid)
            for role, procs in parley.children().items()
        }
    finally:
        parley.stop()
        with contextlib.suppress(ProcessLookupError):
            os.kill(proxy.pid, signal.SIGCONT)
        proxy.terminate()
        proxy.wait(10)
        redis.kill()
    log_lines = (data / "runparley.log").read_text(errors="replace").splitlines()
    restarts = [line.strip() for line in log_lines if line.strip().startswith("restarting ")]
    # daphne's access log: a 500 is always Parley's bug, whatever the fault (HAProxy's
    # 502/503 while a process is out of rotation are retried by the clients).
    server_errors = [line for line in log_lines if re.search(r'" 500 \d+$', line)]
    msgs = verdict_messages(ledger, checks["rows"])
    offers = offers_verdict(ledger, chaos.windows)
    lost = msgs["lost_not_stored"] + msgs["lost_not_delivered"]
    # Out of order is what a sender's peer would show: a conversation stored in another
    # order than its sender sent. Pushes may arrive after a later seq (two processes or
    # database threads publish after their commits); docs/protocol.md has clients hold
    # them by seq and resume the gap, so those are counted apart, not as reordered.
    reorder = msgs["out_of_order_stored"]
    never = ledger.visitors_failed.get("never assigned", 0)
    over_seen = {a: n for a, n in ledger.max_load.items() if n > args.capacity}
    print("\n== chaos verdict ==")
    print(f"ran {result['minutes']:.1f} min; faults: " + "; ".join(
        f"{f['t_min']} min {f['fault']} ({f['detail']})" for f in chaos.log))  # fmt: skip
    print(f"children at the end {children} (direct: {direct}); runparley restarts: {restarts}")
    print(f"visits: {len(ledger.conversations)} conversations, {ledger.visitors_done} completed, "
          f"unfinished at the end {result['unfinished']}, failed {dict(ledger.visitors_failed)}; "
          f"sessions by HTTP status {result['sessions']}")  # fmt: skip
    print(f"reconnects {dict(ledger.reconnects)}, resumes {ledger.resumes}, resends "
          f"{ledger.retries}, duplicate deliveries dropped by seq {ledger.duplicate_deliveries}")  # fmt: skip
    print(f"client errors {dict(ledger.errors)}")
    print(f"messages: {msgs}")
    unseen = {i: st for i, st in checks["offers"].items() if i not in ledger.offers_seen}
    print(
        f"offers in the database {len(checks['offers'])}, never reached a console "
        f"{len(unseen)} (by final state {dict(Counter(unseen.values()))})"
    )
    print(f"routing: unrouted in the database {checks['unrouted'][:20]} "
          f"({len(checks['unrouted'])}); visitors never assigned {never}")  # fmt: skip
    print(f"capacity: over capacity in samples {result['over_capacity'][:10]}; as the agents "
          f"saw it: max load {max(ledger.max_load.values(), default=0)} of {args.capacity}")  # fmt: skip
    print(
        f"offers: {offers}; ended {dict(ledger.offers_ended)}; set away for missed offers "
        f"{ledger.set_away}"
    )
    ok = {
        "lost/dup/reorder 0/0/0": lost == 0 and msgs["duplicated"] == 0 and reorder == 0,
        "every conversation routed": not checks["unrouted"] and never == 0,
        "no agent over capacity": not result["over_capacity"] and not over_seen,
        "first-try accepts >= 99.5%": (offers["share_pct"] or 0) >= 99.5,
        "no HTTP 500": not server_errors and not result["sessions"].get(500),
        "every child alive": direct.get("daphne", 0) == 2
        and direct.get("worker", 0) == 2
        and direct.get("beat", 0) == 1
        and direct.get("haproxy", 0) == 1,
    }
    print(f"lost {lost}, duplicated {msgs['duplicated']}, out of order {reorder}")
    print(f"HTTP 500 in the access log: {len(server_errors)} {server_errors[:3]}")
    for name, good in ok.items():
        print(f"VERDICT {name}: {'PASS' if good else 'FAIL'}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": {k: v for k, v in vars(args).items()}, "faults": chaos.log,
            "messages": msgs, "offers": offers, "over_capacity": result["over_capacity"],
            "unrouted": checks["unrouted"], "verdict": ok, "restarts": restarts,
        }, indent=1, default=str))  # fmt: skip
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
