"""Parley's production topology started by a bench (bench/soak.py, bench/chaos.py):
`runparley --processes N --workers M --balancer-port P` on PostgreSQL and Redis, in a
process group of its own, plus what the benches read about it: each process's memory,
the channel layer's pub/sub subscriptions, open sockets, and the end-of-run checks in the
database. Loopback only."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1


def wait_port(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.2)
    return False


def healthy(base: str, timeout: float) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception), opener.open(f"{base}/healthz", timeout=3) as r:
            if r.status == 200:
                return True
        time.sleep(0.5)
    return False


def _own_group_dying_with_parent() -> None:
    """A process group of its own (the bench stops it whole), and SIGTERM when the bench
    dies, however it dies (runparley's children die with runparley in turn)."""
    os.setsid()
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Parley:
    """runparley and its children (setsid: the bench stops the whole group, by its id)."""

    def __init__(self, env: dict[str, str], port: int, balancer: int, processes: int,
                 workers: int, log: Path) -> None:  # fmt: skip
        self.env, self.port, self.balancer = env, port, balancer
        self.processes, self.workers, self.log_path = processes, workers, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = [sys.executable, "manage.py", "runparley", "--no-demo",
                "--port", str(self.port), "--processes", str(self.processes),
                "--workers", str(self.workers), "--balancer-port", str(self.balancer)]  # fmt: skip
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            args, cwd=REPO, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_own_group_dying_with_parent,
        )  # fmt: skip
        ports = [self.balancer] + [self.port + i for i in range(self.processes)]
        if not all(healthy(f"http://127.0.0.1:{p}", 900) for p in ports):
            self.stop()
            raise SystemExit(f"Parley did not come up: see {self.log_path}")
        time.sleep(5)  # the workers and beat connect to the broker

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
        self.log.close()

    def children(self) -> dict[str, list[Any]]:
        """The running processes by role: daphne, worker (Celery parents and pool
        children), beat, haproxy, runparley."""
        import psutil

        roles: dict[str, list[Any]] = {}
        if self.proc is None:
            return roles
        try:
            root = psutil.Process(self.proc.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return roles
        for p in procs:
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            if p.pid == self.proc.pid:
                role = "runparley"
            elif "daphne" in cmd:
                role = "daphne"
            elif "haproxy" in cmd:
                role = "haproxy"
            elif " beat" in cmd:
                role = "beat"
            elif " worker" in cmd:
                role = "worker"
            else:
                role = "other"
            roles.setdefault(role, []).append(p)
        return roles

    def rss_mb(self) -> dict[str, float]:
        """RSS per role in MB (sum over that role's processes), and the total."""
        import psutil

        out: dict[str, float] = {}
        for role, procs in self.children().items():
            total = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            out[role] = total / 2**20
        out["total"] = sum(out.values())
        return out

    def pids(self) -> dict[str, list[int]]:
        return {role: [p.pid for p in procs] for role, procs in self.children().items()}

    def daphne_for_port(self, port: int) -> int | None:
        for p in self.children().get("daphne", []):
            with contextlib.suppress(Exception):
                # daphne listens through an endpoint string ("-e tcp:port=P:...", for the
                # backlog), or "-p P" as before
                args = p.cmdline()
                if str(port) in args or any(f"tcp:port={port}:" in a for a in args):
                    return p.pid
        return None


class AutovacuumStandIn:
    """This machine's PostgreSQL runs with ``autovacuum = off`` (its CI configuration, in
    /etc/postgresql/15/main/conf.d/90-ci.conf); a production server has it on. Without it a
    long run's tables are never analyzed and plans go stale: a customer's "am I waiting?"
    read hash-joined every open queue entry (2-4 ms at 5,000 waiting; 0.05 ms once
    analyzed), so the figures would measure a misconfigured database. Only when autovacuum
    is off, this thread does its work: ``VACUUM ANALYZE`` of the bench's database every
    ``interval`` seconds (autovacuum's own naptime is a minute)."""

    def __init__(self, dbname: str, interval: float = 60.0) -> None:
        import threading

        self.dbname, self.interval = dbname, interval
        self.runs = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="autovacuum", daemon=True)

    def _connect(self):
        import psycopg

        return psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{self.dbname}",
                               autocommit=True)  # fmt: skip

    def start(self) -> bool:
        with self._connect() as conn:
            if conn.execute("SHOW autovacuum").fetchone()[0] == "on":
                return False
        self.thread.start()
        return True

    def analyze(self) -> None:
        """One pass now, for a bench that has just filled its tables."""
        with self._connect() as conn:
            conn.execute("ANALYZE")

    def _loop(self) -> None:
        while not self.stop.wait(self.interval):
            with contextlib.suppress(Exception), self._connect() as conn:
                conn.execute("VACUUM ANALYZE")
                self.runs += 1


def established(ports: list[int]) -> int:
    """ESTABLISHED TCP connections whose local port is one of `ports` (the server side)."""
    wanted = set(ports)
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) in wanted:
                    count += 1
    return count


def subscriptions(redis_url: str, prefix: str) -> int | None:
    """Channels under the layer's prefix with at least one subscriber (PUBSUB CHANNELS is
    server-wide, whatever the db: the prefix tells this run's apart)."""
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=3)
        return len(client.pubsub_channels(f"{prefix}*"))
    except Exception:
        return None


def subscription_names(redis_url: str, prefix: str, limit: int = 20) -> list[str]:
    import redis

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=3)
        return sorted(c.decode() for c in client.pubsub_channels(f"{prefix}*"))[:limit]
    except Exception as exc:
        return [f"unreadable: {exc}"]


def db_checks(site_key: str, conversations: set[int]) -> dict[str, Any]:
    """What the database says at the end: the run's messages by conversation (to count
    lost, duplicated and out-of-order), conversations never routed, and agents' load."""
    from django.db.models import Count

    from agents.models import AgentPresence
    from chat.models import Conversation, Message

    rows = list(
        Message.objects.filter(conversation_id__in=conversations, kind="text")
        .order_by("conversation_id", "seq")
        .values_list("conversation_id", "seq", "client_msg_id", "sender__role")
    )
    unrouted = list(
        Conversation.objects.filter(pk__in=conversations, assigned_at__isnull=True).values_list(
            "pk", "status"
        )
    )
    dup_seq = (
        Message.objects.filter(conversation_id__in=conversations)
        .values("conversation_id", "seq")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    over = list(
        AgentPresence.objects.filter(user__username__startswith=site_key).values_list(
            "user__username", "load", "capacity"
        )
    )
    from routing.models import Reservation

    offers = dict(
        Reservation.objects.filter(conversation_id__in=conversations).values_list("id", "state")
    )
    return {"rows": rows, "unrouted": unrouted, "dup_seq": dup_seq, "presence": over,
            "offers": offers}  # fmt: skip


def verdict_messages(ledger, rows: list[tuple]) -> dict[str, int]:
    """Lost: sent and accepted (or still unconfirmed) but not stored, or stored but never
    seen by the other side. Duplicated: a client_msg_id stored twice. Out of order: one
    sender's messages stored in another order than sent (the verdicts' figure). Pushes
    that arrived after a later seq of the same conversation are counted apart
    (``out_of_order_pushes``): clients hold messages by seq and resume a gap
    (docs/protocol.md), so no one sees them out of order."""
    from collections import Counter, defaultdict

    stored = Counter(cmid for _, _, cmid, _ in rows if cmid)
    by_sender: dict[tuple[int, str], list[str]] = defaultdict(list)
    for conv, _seq, cmid, role in rows:
        if cmid:
            by_sender[(conv, role)].append(cmid)
    sent = ledger.sent
    lost_stored = sum(1 for c in sent if stored[c] == 0)
    undelivered = sum(1 for c, r in sent.items() if stored[c] and not r.delivered)
    dup = sum(n - 1 for n in stored.values() if n > 1)
    reorder = 0
    for stored_ids in by_sender.values():
        orders = [sent[c].order for c in stored_ids if c in sent]
        reorder += sum(1 for a, b in itertools.pairwise(orders) if b < a)
    return {
        "sent": len(sent),
        "stored": sum(1 for c in sent if stored[c]),
        "lost_not_stored": lost_stored,
        "lost_not_delivered": undelivered,
        "duplicated": dup,
        "out_of_order_stored": reorder,
        "out_of_order_pushes": ledger.reordered_pushes,
    }
