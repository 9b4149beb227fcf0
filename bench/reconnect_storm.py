"""A reconnect storm: kill -9 one ASGI process behind the balancer and time how fast its
sockets come back and resync, with nothing lost (issue 15, item 3).

Against Parley started as `runparley --processes 2 --balancer-port P` (HAProxy in front):

1. N visitors (made in-process by the same service as POST /api/v1/widget/sessions/) each
   open a widget socket through the balancer and start a conversation (seq 1 after one
   message of their own).
2. The bench kills -9 the ASGI process with the most established sockets (from
   /proc/net/tcp), and at once sends one more message into the conversations of
   ``--away`` of the dropped clients (all of them with ``--away 0``), over REST through
   the balancer (the server stores it while the clients are away). The posts run beside
   the storm on the surviving process: 5,000 of them would measure REST writes, not
   reconnects, so by default a sample of 250 carries the "nothing lost" check.
3. Each dropped client reconnects as Parley's client does (jittered exponential back-off,
   [cap/2, cap], cap = 0.5 s x 2^n up to 30 s), gets `hello`, sends `resume` after the
   last seq it held, and counts as resynced when its batch brings everything up to the
   conversation's last message (the away message, for the sample).

Prints: sockets, how many dropped, time from the kill to each resync (p50/p99/max), the
share resynced within 15 s, lost (never resynced within --deadline) and duplicates (a seq
seen twice), and the CPU the server processes, their PostgreSQL backends and Redis spent
from the kill until the last resync, per reconnect. With ``--procs 2`` the clients run
in two processes (the client's own CPU is not the server's). Loopback only; sockets and
time are bounded.

    .venv/bin/python bench/reconnect_storm.py --url http://127.0.0.1:8160 --sockets 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ws_pairs import CpuMeter, check_local, django_setup, fmt_summary, http_json, summary_ms

MAX_SOCKETS = 10_000
SITE_KEY = "bench-reconnect-storm"


def visitors_make(count: int, origin: str) -> list[str]:
    from chat import services
    from chat.models import Site

    Site.objects.get_or_create(key=SITE_KEY, defaults={"name": "bench reconnect storm"})
    return [
        services.visitor_session_create(site_key=SITE_KEY, origin=origin, locale="en")[1]
        for _ in range(count)
    ]


def established_by_port(ports: list[int]) -> dict[int, int]:
    counts = dict.fromkeys(ports, 0)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "01" and port in counts:
                counts[port] += 1
    return counts


def pid_listening(port: int) -> int:
    """The daphne process serving `port` (its command line names it)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            line = b" ".join(cmd)
            if b"daphne" in line and (str(port).encode() in cmd or b"port=%d:" % port in line):
                return int(entry.name)
    raise SystemExit(f"no daphne process found for port {port}")


class Client:
    drops_assigned = False  # set once the sample of away messages has been drawn

    def __init__(self, ws_base: str, base: str, token: str, origin: str) -> None:
        self.ws_base, self.base, self.token, self.origin = ws_base, base, token, origin
        self.ws = None
        self.conversation = 0
        self.last_seq = 0
        self.seen: set[int] = set()
        self.duplicates = 0
        self.setup_retries = 0
        self.closing = False  # the bench closes the survivors at the end: not a drop
        self.want = 0  # the last seq it must hold (the away message's, for the sample)
        self.sampled = False
        self.dropped_at: float | None = None
        self.resynced_at: float | None = None
        self.hello_at: float | None = None

    async def connect(self):
        import websockets

        self.ws = await websockets.connect(
            f"{self.ws_base}/ws/widget/?token={self.token}", origin=self.origin,
            open_timeout=30, ping_interval=None, max_queue=None,
        )  # fmt: skip
        while json.loads(await self.ws.recv())["type"] != "hello":
            pass

    async def frame(self, *types: str) -> dict:
        while True:
            f = json.loads(await asyncio.wait_for(self.ws.recv(), 120))  # a starved host
            if f["type"] == "message.new":
                self.note(f["message"]["seq"])
            if f["type"] in types:
                return f

    def note(self, seq: int) -> None:
        if seq in self.seen:
            self.duplicates += 1
        self.seen.add(seq)
        if seq == self.last_seq + 1:
            self.last_seq = seq

    async def setup(self) -> None:
        for attempt in range(8):  # a busy server refuses connects (daphne's backlog is 50)
            try:
                await self.connect()
                break
            except Exception:
                self.setup_retries += 1
                if attempt == 7:
                    raise
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))
        await self.ws.send(json.dumps({"type": "conversation.start", "id": "s"}))
        self.conversation = (await self.frame("conversation.started"))["conversation"]["id"]
        await self.ws.send(json.dumps({"type": "message.send", "id": "m", "body": "first",
                                       "conversation": self.conversation,
                                       "client_msg_id": os.urandom(8).hex()}))  # fmt: skip
        await self.frame("message.accepted")
        await self.resume()

    async def resume(self) -> None:
        await self.ws.send(json.dumps({"type": "resume", "id": "r", "after_seq": self.last_seq,
                                       "conversation": self.conversation}))  # fmt: skip
        batch = await self.frame("messages.batch")
        for m in batch["messages"]:
            self.note(m["seq"])

    async def resync(self, deadline: float) -> None:
        await self.connect()
        self.hello_at = self.hello_at or time.monotonic()
        while self.want == 0 or self.last_seq < self.want:
            if self.want == 0:
                if Client.drops_assigned and not self.sampled:
                    self.want = self.last_seq  # it dropped after the sample was drawn
                    continue
                await asyncio.sleep(0.1)  # the away message is not stored yet
                continue
            await self.resume()

    async def watch(self, deadline: float) -> None:
        """Wait for the socket to drop (or not); if it does, reconnect and resync."""
        import websockets

        try:
            while True:
                f = json.loads(await self.ws.recv())
                if f["type"] == "message.new":
                    self.note(f["message"]["seq"])
        except websockets.ConnectionClosed:
            if self.closing:
                return
            self.dropped_at = time.monotonic()
        attempt = 0
        while time.monotonic() < deadline:
            cap = min(30.0, 0.5 * 2**attempt)
            await asyncio.sleep(cap / 2 + random.random() * cap / 2)
            attempt += 1
            try:
                # Bounded: a handshake the starved server never answers must not hold
                # this client past the deadline.
                await asyncio.wait_for(self.resync(deadline), max(0.1, deadline - time.monotonic()))
                self.resynced_at = time.monotonic()
                await self.ws.close()
                return
            except Exception:
                continue


def post_away(c: Client, base: str, origin: str) -> int:
    """One message into the conversation while its customer is away (REST); 0 when the
    post timed out (it may still have been stored: the client then has no seq to wait for,
    and a stored message comes back by its resume all the same)."""
    try:
        status, payload = http_json(
            "POST", f"{base}/api/v1/conversations/{c.conversation}/messages/",
            {"body": "while you were away", "client_msg_id": os.urandom(8).hex()},
            headers={"Authorization": f"Visitor {c.token}", "Origin": origin}, timeout=30,
        )  # fmt: skip
    except (TimeoutError, OSError):
        # A 9,800-socket run's client processes died here (an uncaught TimeoutError while the
        # surviving process was busy with 4,900 reconnects) and printed no figures.
        return 0
    if status in (200, 201):
        c.want = payload["message"]["seq"]
    return status


async def client_main(args, base: str, ws_base: str, tokens: list[str], conn, share: int) -> None:
    """One client process: open its sockets, then (told the kill is coming) watch, note
    the drops, post its share of the away messages, and report each client's times."""
    loop = asyncio.get_running_loop()
    clients = [Client(ws_base, base, t, base) for t in tokens]
    sem = asyncio.Semaphore(max(1, 20 // args.procs))

    async def setup(c: Client) -> None:
        async with sem:
            await c.setup()

    await asyncio.gather(*(setup(c) for c in clients))
    conn.send({"ready": len(clients), "retries": sum(c.setup_retries for c in clients)})
    deadline = await loop.run_in_executor(None, conn.recv)  # the watch begins
    watchers = [asyncio.create_task(c.watch(deadline)) for c in clients]
    kill_at = await loop.run_in_executor(None, conn.recv)  # killed now
    # The drops arrive within a moment (HAProxy closes the clients' side once it sees the
    # process gone; seconds on a starved host): wait for the first, then until no new one
    # has come for a second (at most 15 s).
    settled, count = time.monotonic(), 0
    while time.monotonic() - kill_at < 15:
        n = sum(1 for c in clients if c.dropped_at is not None)
        if n != count:
            settled, count = time.monotonic(), n
        elif n and time.monotonic() - settled >= 1.0:
            break
        await asyncio.sleep(0.05)
    dropped = [c for c in clients if c.dropped_at is not None]
    random.shuffle(dropped)
    sample = dropped[:share] if share else dropped
    for c in sample:
        c.sampled = True
    for c in dropped[len(sample) :]:
        c.want = c.last_seq  # nothing new: resynced once its resume has answered
    Client.drops_assigned = True
    posting = ThreadPoolExecutor(16)
    posted_at = time.monotonic()
    statuses = await asyncio.gather(
        *(loop.run_in_executor(posting, post_away, c, base, base) for c in sample)
    )
    posts_seconds = time.monotonic() - posted_at
    survivors = [c for c in clients if c.dropped_at is None]
    for c in survivors:
        c.closing = True  # a survivor's watch ends when the bench closes it, not a drop
    await asyncio.gather(
        *(w for c, w in zip(clients, watchers, strict=True) if c.dropped_at is not None),
        return_exceptions=True,
    )
    conn.send({"watched": True})  # the parent reads the CPU meters now
    for c in survivors:
        c.ws.close_timeout = 1
    await asyncio.gather(*(c.ws.close() for c in survivors), return_exceptions=True)
    await asyncio.gather(*watchers, return_exceptions=True)
    conn.send(
        {
            "clients": [
                {
                    "dropped_at": c.dropped_at,
                    "hello_at": c.hello_at,
                    "resynced_at": c.resynced_at,
                    "gap": c.resynced_at is not None
                    and sorted(c.seen)[: c.want] != list(range(1, c.want + 1)),
                    "duplicates": c.duplicates,
                }
                for c in clients
            ],
            "sampled": len(sample),
            "stored": sum(1 for st in statuses if st in (200, 201)),
            "posts_seconds": posts_seconds,
        }
    )


def client_process(args, base, ws_base, tokens, conn, share) -> None:
    asyncio.run(client_main(args, base, ws_base, tokens, conn, share))
    conn.close()
    os._exit(0)  # forked beside Django's connections: leave them alone


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the balancer, http://127.0.0.1:PORT")
    parser.add_argument("--backends", required=True, help="the ASGI ports, e.g. 8161,8162")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--away", type=int, default=250, help="away messages (0: one each)")
    parser.add_argument("--procs", type=int, default=1, help="client processes (1..4)")
    parser.add_argument("--deadline", type=float, default=60.0, help="seconds at most")
    args = parser.parse_args()
    if not 1 <= args.sockets <= MAX_SOCKETS or urlsplit(args.url).hostname not in (
        "127.0.0.1", "localhost"
    ):  # fmt: skip
        raise SystemExit(f"--sockets 1..{MAX_SOCKETS}, loopback --url only")
    if not 1 <= args.procs <= 4 or args.away < 0:
        raise SystemExit("--procs 1..4, --away >= 0")
    args.deadline = min(args.deadline, 300.0)
    base, ws_base = check_local(args.url)
    backends = [int(p) for p in args.backends.split(",")]
    django_setup()
    from django.conf import settings
    from django.db import connection

    tokens = visitors_make(args.sockets, base)
    db = settings.DATABASES["default"]
    redis_url = urlsplit(settings.REDIS_URL)
    meter = CpuMeter(
        urlsplit(base).port or 80,
        str(db["NAME"]) if "postgresql" in db["ENGINE"] else None,
        (redis_url.port or 6379) if redis_url.scheme.startswith("redis") else None,
    )
    connection.close()
    ctx = multiprocessing.get_context("fork")
    children = []
    t0 = time.monotonic()
    for i in range(args.procs):
        share = -(-args.away // args.procs) if args.away else 0
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(
            target=client_process,
            args=(args, base, ws_base, tokens[i :: args.procs], child_end, share),
        )
        proc.start()
        child_end.close()  # a child that dies then shows as EOFError here, not a hang
        children.append((proc, parent_end))
    ready = [conn.recv() for _, conn in children]
    print(f"{sum(r['ready'] for r in ready)} sockets open with a conversation each in "
          f"{time.monotonic() - t0:.1f} s ({sum(r['retries'] for r in ready)} connects "
          f"retried); load {os.getloadavg()}")  # fmt: skip
    # The set-up's messages go through the language pipeline in the worker: a storm begun
    # while that backlog drains would measure the backlog's CPU beside the reconnects
    # (2,581 of the set-up's messages were processed during one storm's first minute).
    from chat.models import Message

    waited = time.monotonic()
    while time.monotonic() - waited < 300:
        pending = Message.objects.filter(pipeline=Message.Pipeline.PENDING).count()
        if not pending:
            break
        time.sleep(1.0)
    print(f"the set-up's pipeline backlog drained in {time.monotonic() - waited:.1f} s "
          f"({pending} still pending)")  # fmt: skip
    if connection.vendor == "postgresql":
        # The set-up inserted N conversations and queue entries in a minute or two, faster
        # than autovacuum's analyze follows on a fresh database: with the stale estimates
        # the planner hash-joined every open queue entry for each customer's "am I
        # waiting?" read (2-4 ms at 5,000 waiting), a cost a live database does not pay.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
            statements = _statements_reset(cursor)
        connection.close()
    else:
        statements = False
    counts = established_by_port(backends)
    print(f"established per backend port: {counts}")
    victim_port = max(counts, key=counts.get)
    victim = pid_listening(victim_port)
    deadline = time.monotonic() + args.deadline
    for _, conn in children:
        conn.send(deadline)
    time.sleep(1.0)
    c0 = meter.sample()
    kill_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    for _, conn in children:
        conn.send(kill_at)
    print(f"killed daphne pid {victim} (port {victim_port}, {counts[victim_port]} sockets)")
    for _, conn in children:
        conn.recv()  # every dropped client has resynced, or the deadline passed
    c1 = meter.sample()
    results = [conn.recv() for _, conn in children]
    for proc, _ in children:
        proc.join(30)
    clients = [c for r in results for c in r["clients"]]
    dropped = [c for c in clients if c["dropped_at"] is not None]
    resynced = [c for c in dropped if c["resynced_at"] is not None]
    last = max((c["resynced_at"] for c in resynced), default=time.monotonic())
    usage = meter.usage(c0, c1)["seconds"]
    times = [c["resynced_at"] - kill_at for c in resynced]
    within = sum(1 for t in times if t <= 15.0)
    sampled = sum(r["sampled"] for r in results)
    print(f"dropped {len(dropped)}; away messages stored {sum(r['stored'] for r in results)}"
          f"/{sampled} (posted in {max(r['posts_seconds'] for r in results):.1f} s)")  # fmt: skip
    print(f"resynced {len(resynced)}/{len(dropped)}; "
          f"within 15 s: {within}/{len(dropped)} = {100 * within / max(1, len(dropped)):.2f}%")  # fmt: skip
    hellos = [c["hello_at"] - kill_at for c in dropped if c["hello_at"] is not None]
    print(f"kill -> hello again: {fmt_summary(summary_ms(hellos))}; "
          f"within 15 s: {sum(1 for t in hellos if t <= 15.0)}/{len(dropped)}")  # fmt: skip
    print(f"kill -> resynced: {fmt_summary(summary_ms(times))}")
    # A seq that arrives twice (its push and the resume's batch) is dropped by seq, as
    # Parley's client does; what counts is that each client holds 1..want, in order.
    print(f"lost (not resynced by the deadline): {len(dropped) - len(resynced)}; "
          f"resynced with a gap: {sum(1 for c in resynced if c['gap'])}; seqs delivered "
          f"twice and dropped by seq: {sum(c['duplicates'] for c in clients)}")  # fmt: skip
    n = max(1, len(dropped))
    # The restarted process's CPU is mostly its start-up: count the survivors' alone.
    survivors = c0["roles"].get("daphne", set()) - {victim}
    server = sum(max(0.0, c1["cpu"].get(p, 0.0) - c0["cpu"].get(p, 0.0)) for p in survivors)
    restarted = usage.get("daphne", 0.0) - server
    db_s = sum(v for r, v in usage.items() if r.startswith("db_"))
    print(f"CPU from the kill to the last resync ({last - kill_at:.1f} s), per reconnect: "
          f"surviving daphne {1000 * server / n:.2f} ms (the restarted one, start-up "
          f"included: {restarted:.1f} s in all), PostgreSQL {1000 * db_s / n:.2f} ms, "
          f"Redis {1000 * usage.get('redis', 0.0) / n:.2f} ms, balancer and runner "
          f"{1000 * usage.get('runner', 0.0) / n:.2f} ms (the away posts included); "
          f"load {os.getloadavg()}")  # fmt: skip
    if statements:
        _statements_print(n)


def _statements_reset(cursor) -> bool:
    """Where PostgreSQL's pg_stat_statements is loaded and installed in the bench's
    database, count the storm's statements alone (from here), to say which cost what."""
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
    if cursor.fetchone() is None:
        return False
    cursor.execute("SELECT pg_stat_statements_reset()")
    return True


def _statements_print(reconnects: int, top: int = 12) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT calls, total_exec_time, rows, query FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "ORDER BY total_exec_time DESC LIMIT %s",
            [top],
        )
        rows = cursor.fetchall()
    print(f"PostgreSQL's statements since the kill (pg_stat_statements), top {top} by time:")
    for calls, total_ms, nrows, query in rows:
        text = " ".join(query.split())[:150]
        print(f"  {total_ms:9.0f} ms {calls:7d} calls {total_ms / max(1, calls):7.3f} ms/call "
              f"{total_ms / reconnects:6.3f} ms/reconnect {nrows:8d} rows  {text}")  # fmt: skip


if __name__ == "__main__":
    main()
