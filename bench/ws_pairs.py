"""Messaging round trip: N customer/agent socket pairs against a running Parley server.

Each pair is one customer (a visitor from ``POST /api/v1/widget/sessions/``, on
``/ws/widget/``, who starts a conversation) and one agent (a Django session made here, on
``/ws/agent/``, who takes that conversation). The pairs then send messages both ways at a
fixed overall rate (open loop: a send never waits for an earlier answer), and the script
prints, per rate step:

- latency from just before ``message.send`` to the other side's ``message.new`` with that
  ``client_msg_id`` (p50, p95, p99, max), and to the sender's ``message.accepted``;
- throughput (messages per second delivered to the other side);
- errors: failed connects, error frames by code, retries, unexpected closes, pushes that
  never came (the client would have resumed), duplicate pushes;
- CPU per message by process (ASGI server, Celery worker, beat, each one's PostgreSQL
  backends, Redis), the database's counters per message, the language pipeline's backlog
  over the step (pending messages and queued tasks, with a slope), frames per message by
  type and recipient, and pong round trips (every socket pings at the server's heartbeat
  interval, as real clients do).

At the end every conversation is read back with ``resume`` from ``after_seq=0`` (REST
``?after_seq=`` if the socket is gone) and checked: every message sent exactly once, in
``seq`` order with no gaps. ``lost=0 dup=0`` is printed explicitly.

The script sets Django up itself to create the agents and their sessions, so it must run
with the server's environment (``PARLEY_DATA_DIR``, or ``DATABASE_URL``, ``REDIS_URL`` and
``SECRET_KEY``). It only talks to 127.0.0.1 / localhost. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stack import AutovacuumStandIn  # noqa: E402

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
AGENT_PREFIX = "bench-agent-"

# Bounds: the script must not turn into a flood tool by a typo.
MAX_PAIRS = 1000
MAX_RATE = 5000.0
MAX_STEP_SECONDS = 300.0
MAX_MESSAGES = 500_000
OTHER_CPU_WARN = 20.0  # percent of one core used by processes that are not ours

now = time.perf_counter


# --- small helpers ---------------------------------------------------------------------------
def percentile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    index = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


def summary_ms(values: list[float]) -> dict[str, Any]:
    ordered = sorted(v * 1000.0 for v in values)
    return {
        "n": len(ordered),
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else None,
    }


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def fmt_summary(s: dict[str, Any]) -> str:
    return (
        f"p50={fmt_ms(s['p50'])} p95={fmt_ms(s['p95'])} p99={fmt_ms(s['p99'])} "
        f"max={fmt_ms(s['max'])} ms (n={s['n']})"
    )


class CpuMeter:
    """Who used the two CPUs during a step, by role: the ASGI server (daphne), the Celery
    worker (its parent and pool children), beat, the runparley parent; the PostgreSQL
    backends of the server's database, each charged to the process whose connection it
    serves (its client port, from the backend's command line, matched to the socket's
    owner in /proc); this client; the Redis server (shared with every other user of it);
    and everything else on the machine ("other": anything not ours, which makes a result
    unreliable)."""

    ROLES = ("daphne", "worker", "beat", "runner")

    def __init__(self, port: int, db_name: str | None, redis_port: int | None = None) -> None:
        self.port, self.db_name, self.redis_port = port, db_name, redis_port
        self.tick = os.sysconf("SC_CLK_TCK")
        self.ncpu = os.cpu_count() or 1

    @staticmethod
    def _read(path: str) -> str:
        try:
            with open(path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _stat(self, pid: int) -> tuple[int, float] | None:
        """(parent pid, CPU seconds) of a process."""
        text = self._read(f"/proc/{pid}/stat")
        if not text:
            return None
        fields = text.rsplit(")", 1)[1].split()
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / self.tick

    def _tcp(self) -> list[tuple[int, int, str, str]]:
        """(local port, remote port, state, socket inode) of every TCP socket."""
        out = []
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in self._read(table).splitlines()[1:]:
                parts = line.split()
                local = int(parts[1].rsplit(":", 1)[1], 16)
                remote = int(parts[2].rsplit(":", 1)[1], 16)
                out.append((local, remote, parts[3], f"socket:[{parts[9]}]"))
        return out

    def _socket_owners(self, pids, inodes: set[str]) -> dict[str, int]:
        owners = {}
        for pid in pids:
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                        if target in inodes:
                            owners[target] = pid
        return owners

    @staticmethod
    def _pids() -> list[int]:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]

    def _role(self, pid: int) -> str:
        cmd = self._read(f"/proc/{pid}/cmdline").replace("\0", " ")
        if "daphne" in cmd or "uvicorn" in cmd or "gunicorn" in cmd:
            return "daphne"
        if "celery" in cmd and " beat" in cmd:
            return "beat"
        if "celery" in cmd:
            return "worker"
        return "runner"

    def sample(self) -> dict[str, Any]:
        stats = {pid: st for pid in self._pids() if (st := self._stat(pid))}
        tcp = self._tcp()
        roles: dict[str, set[int]] = {}
        listening = {ino for local, _r, state, ino in tcp if state == "0A" and local == self.port}
        listener = next(iter(self._socket_owners(stats, listening).values()), None)
        if listener is not None:
            root = listener
            parent = stats.get(listener, (0, 0))[0]
            if "runparley" in self._read(f"/proc/{parent}/cmdline"):
                root = parent
            children: dict[int, list[int]] = {}
            for pid, (ppid, _) in stats.items():
                children.setdefault(ppid, []).append(pid)
            todo = [root]
            while todo:
                pid = todo.pop()
                role = self._role(pid)
                if role == "runner" and stats.get(pid, (0, 0))[0] in roles.get("worker", ()):
                    role = "worker"  # a pool child whose command line says little
                roles.setdefault(role, set()).add(pid)
                todo += children.get(pid, [])
        server = set().union(*roles.values()) if roles else set()
        # Each backend of the database, charged to the server process that holds its
        # connection: "postgres: 15/main: user db 127.0.0.1(PORT) state".
        backends: dict[int, int] = {}
        if self.db_name:
            for pid in stats:
                cmd = self._read(f"/proc/{pid}/cmdline")
                if cmd.startswith("postgres:") and f" {self.db_name} " in cmd:
                    port = cmd.rsplit("(", 1)[-1].split(")", 1)[0]
                    backends[pid] = int(port) if port.isdigit() else -1
        by_port = {local: ino for local, _r, _s, ino in tcp if local in set(backends.values())}
        owners = self._socket_owners(server, set(by_port.values()))
        role_of = {pid: role for role, pids in roles.items() for pid in pids}
        for pid, port in backends.items():
            owner = owners.get(by_port.get(port, ""))
            roles.setdefault(f"db_{role_of.get(owner, 'other')}", set()).add(pid)
        redis: set[int] = set()
        if self.redis_port:
            redis_inodes = {
                ino for local, _r, state, ino in tcp if state == "0A" and local == self.redis_port
            }
            redis = {p for p in stats if "redis-server" in self._read(f"/proc/{p}/cmdline")}
            owners = self._socket_owners(redis, redis_inodes)
            redis = set(owners.values())
        roles["redis"] = redis
        line = self._read("/proc/stat").splitlines()[0].split()
        user, nice, system, idle, iowait, irq, softirq = (float(x) for x in line[1:8])
        busy = user + nice + system + irq + softirq
        usage = resource.getrusage(resource.RUSAGE_SELF)
        ours = server | set(backends) | redis
        return {
            "t": now(),
            "client": usage.ru_utime + usage.ru_stime,
            "busy": busy,
            "total": busy + idle + iowait,
            "cpu": {pid: stats[pid][1] for pid in ours},
            "roles": roles,
            "server_found": bool(server),
        }

    def usage(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Percent of one core per role over the time between two samples, plus the CPU
        seconds behind each (``seconds``) for per-message accounting."""
        wall = max(b["t"] - a["t"], 1e-9)
        seconds: dict[str, float] = {}
        for role, pids in b["roles"].items():
            seconds[role] = sum(max(0.0, b["cpu"][p] - a["cpu"].get(p, 0.0)) for p in pids)
        seconds["client"] = b["client"] - a["client"]
        server = sum(seconds.get(r, 0.0) for r in self.ROLES)
        db = sum(v for r, v in seconds.items() if r.startswith("db_"))
        total = b["total"] - a["total"]
        machine = 100.0 * self.ncpu * (b["busy"] - a["busy"]) / total if total else 0.0
        pct = {role: 100.0 * v / wall for role, v in seconds.items()}
        ours = 100.0 * (server + db + seconds["client"] + seconds.get("redis", 0.0)) / wall
        return {
            **pct,
            "server": 100.0 * server / wall,
            "db": 100.0 * db / wall,
            "machine": machine,
            "other": max(0.0, machine - ours),
            "server_found": b["server_found"],
            "wall": wall,
            "seconds": seconds,
        }


def check_local(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
        raise SystemExit(f"--url must be http://127.0.0.1:<port> (or localhost); got {url!r}")
    base = f"{parts.scheme}://{parts.netloc}"
    ws_base = ("wss://" if parts.scheme == "https" else "ws://") + parts.netloc
    return base, ws_base


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def http_json(
    method: str, url: str, body: Any = None, headers: dict | None = None, timeout=15.0
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with _opener.open(request, timeout=timeout) as response:
            raw = response.read()
            if not response.headers.get_content_type().endswith("json"):
                return response.status, raw.decode(errors="replace")  # /healthz: plain text
            return response.status, json.loads(raw or b"null")
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read() or b"null")
        except ValueError:
            payload = None
        return exc.code, payload


# --- Django-side setup (agents and their sessions; customers if the API throttles) ----------
def django_setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


@dataclass
class AgentCred:
    user_id: int
    username: str
    session_key: str


@dataclass
class CustomerCred:
    customer_id: int
    token: str
    via: str  # "rest" or "direct"


def agents_prepare(count: int) -> list[AgentCred]:
    """Agent users bench-agent-NNNN (reused between runs) and one fresh session each."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.db import transaction

    from agents.models import AgentProfile

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    User = get_user_model()
    creds = []
    with transaction.atomic():
        for i in range(count):
            username = f"{AGENT_PREFIX}{i:04d}"
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": "Bench", "last_name": f"Agent {i}"}
            )
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            AgentProfile.objects.get_or_create(
                user=user,
                defaults={
                    "display_name": f"Bench {i}",
                    "languages": ["en"],
                    "max_concurrent_chats": 1000,
                },
            )
            store = store_class()
            store[SESSION_KEY] = user._meta.pk.value_to_string(user)
            store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            creds.append(AgentCred(user.pk, username, store.session_key))
    return creds


def agents_sessions_delete(creds: list[AgentCred]) -> None:
    from importlib import import_module

    from django.conf import settings

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    for cred in creds:
        store_class(session_key=cred.session_key).delete()


def site_prepare(site_key: str) -> bool:
    """The bench's own site: no bot flow (the customer is queued at once) and a queue
    without members (the router offers it to nobody), so the pair's agent takes it with
    ``conversation.take`` as a supervisor or an agent picking from the waiting room would."""
    from chat.models import Site
    from routing.models import Queue

    if site_key == "bench-ws-pairs":
        queue, _ = Queue.objects.get_or_create(name="bench ws_pairs")
        Site.objects.get_or_create(
            key=site_key, defaults={"name": "bench ws_pairs", "default_queue": queue}
        )
    return Site.objects.filter(key=site_key).exists()


def customers_prepare(
    *, base: str, origin: str, site_key: str, count: int, run_tag: str, allow_direct: bool
) -> list[CustomerCred]:
    """Visitors from the REST API. Its anonymous throttle (API_ANON_RATE, 120/min by default)
    stops a big run part way: the rest are then made by the same service, in-process."""
    from chat import services
    from chat.models import Customer, Site

    if not Site.objects.filter(key=site_key).exists():
        raise SystemExit(
            f"Site {site_key!r} is not in this process's database. Run the script with the "
            "server's environment (PARLEY_DATA_DIR or DATABASE_URL) and load the demo data."
        )
    creds: list[CustomerCred] = []
    rest_ok = True
    for i in range(count):
        name = f"Bench {run_tag} #{i}"
        if rest_ok:
            status, payload = http_json(
                "POST",
                f"{base}/api/v1/widget/sessions/",
                {"site_key": site_key, "name": name, "locale": "en"},
                {"Origin": origin},
            )
            if status == 200:
                cid = payload["customer"]["id"]
                if not creds and not Customer.objects.filter(pk=cid, name=name).exists():
                    raise SystemExit(
                        f"The server made customer {cid} but this process cannot see it: the "
                        "script and the server use different databases. Give the script the "
                        "server's PARLEY_DATA_DIR / DATABASE_URL."
                    )
                creds.append(CustomerCred(cid, payload["token"], "rest"))
                continue
            if status == 429 and allow_direct:
                rest_ok = False
            else:
                raise SystemExit(f"POST /api/v1/widget/sessions/ answered {status}: {payload}")
        customer, token = services.visitor_session_create(
            site_key=site_key, origin=origin, name=name, locale="en"
        )
        creds.append(CustomerCred(customer.pk, token, "direct"))
    return creds


class BacklogProbe:
    """The language pipeline's backlog: messages still ``pipeline = pending`` in the
    database (what the worker has not finished) and tasks waiting in the broker's queue.
    Read from a thread of its own every few seconds during a step, so that "the backlog
    stays flat over a 60 s step" is a printed slope, not an impression."""

    def __init__(self, every: float = 5.0) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.every = every
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backlog")
        self._redis = None

    DB_COUNTERS = (
        "sessions", "xact_commit", "xact_rollback", "active_time", "session_time",
        "tup_fetched", "tup_inserted", "tup_updated", "tup_deleted",
    )  # fmt: skip

    def db_stats(self) -> dict[str, float]:
        """This database's counters in pg_stat_database (PostgreSQL 14+): new sessions
        (connections opened), transactions and time spent in statements, all clients."""
        from django.db import connection

        if connection.vendor != "postgresql":
            return {}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_stat_clear_snapshot()")
                cursor.execute(
                    f"SELECT {', '.join(self.DB_COUNTERS)} FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
                row = cursor.fetchone()
        except Exception:
            return {}
        return {name: float(v or 0) for name, v in zip(self.DB_COUNTERS, row, strict=True)}

    def read(self) -> tuple[int | None, int | None]:
        from django.conf import settings

        from chat.models import Message

        try:
            pending = Message.objects.filter(pipeline=Message.Pipeline.PENDING).count()
        except Exception:
            pending = None
        queued = None
        if str(settings.CELERY_BROKER_URL).startswith(("redis://", "rediss://", "redis+socket")):
            import redis

            options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}
            prefix = options.get("global_keyprefix", "")
            try:
                if self._redis is None:
                    self._redis = redis.Redis.from_url(settings.REDIS_URL)
                queued = self._redis.llen(f"{prefix}celery")
            except Exception:
                queued = None
        return pending, queued

    async def sample(self) -> tuple[float, int | None, int | None]:
        pending, queued = await asyncio.get_running_loop().run_in_executor(self.pool, self.read)
        return now(), pending, queued

    async def watch(self, stop: asyncio.Event) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        db_start = await loop.run_in_executor(self.pool, self.db_stats)
        samples = [await self.sample()]
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every)
            samples.append(await self.sample())
        db_end = await loop.run_in_executor(self.pool, self.db_stats)
        out = self.summary(samples)
        # Our own probe's transactions are in these counts (a few per step): negligible.
        out["db"] = {k: db_end[k] - db_start[k] for k in db_end if k in db_start}
        return out

    @staticmethod
    def summary(samples: list[tuple[float, int | None, int | None]]) -> dict[str, Any]:
        out: dict[str, Any] = {"samples": len(samples)}
        for index, name in ((1, "pending"), (2, "queued")):
            points = [(row[0], row[index]) for row in samples if row[index] is not None]
            if not points:
                continue
            values = [v for _, v in points]
            out[name] = {"start": values[0], "end": values[-1], "max": max(values)}
            if len(points) > 2:  # least-squares slope, per second
                mt = sum(t for t, _ in points) / len(points)
                mv = sum(values) / len(values)
                den = sum((t - mt) ** 2 for t, _ in points)
                out[name]["slope"] = (
                    sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0
                )
        return out

    def close(self) -> None:
        from django.db import connection

        with contextlib.suppress(Exception):
            self.pool.submit(connection.close).result(5)
        self.pool.shutdown(wait=False)


# --- the socket client -----------------------------------------------------------------------
class ConnectFailed(Exception):
    pass


@dataclass(eq=False)
class Msg:
    cmid: str
    step: int
    measured: bool
    pair: int
    direction: str  # "c2a" or "a2c"
    sender: Sock
    receiver: Sock
    frame: str
    t_sched: float
    kind: str = "message"  # or "typing"
    t_send: float = 0.0
    t_last_try: float = 0.0
    t_ack: float | None = None
    t_recv: float | None = None
    t_echo: float | None = None
    seq_ack: int | None = None
    seq_new: int | None = None
    acks: int = 0
    push_dups: int = 0
    retries: int = 0
    send_failed: bool = False
    errors: list[str] = field(default_factory=list)


class Sock:
    def __init__(self, bench: Bench, role: str, pair: int) -> None:
        self.bench, self.role, self.pair = bench, role, pair
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.pending: dict[str, asyncio.Future] = {}
        self.closing = False
        self.closed = False
        self.close_code: int | None = None
        self.max_seq: dict[int, int] = {}
        self._ids = 0
        self.conversation: int | None = None
        self.heartbeat: float | None = None

    def relation(self, frame: dict) -> str:
        """Is a frame about this socket's own conversation ("own"), another one ("other",
        e.g. a lobby update about a stranger's chat), or none ("-")?"""
        conv = frame.get("conversation")
        if isinstance(conv, dict):
            conv = conv.get("id")
        if conv is None and isinstance(frame.get("message"), dict):
            conv = frame["message"].get("conversation")
        if conv is None:
            return "-"
        return "own" if conv == self.conversation else "other"

    async def connect(self, uri: str, *, origin: str, headers: dict[str, str]) -> dict:
        from websockets.asyncio.client import connect

        try:
            self.ws = await connect(
                uri,
                origin=origin,
                additional_headers=headers,
                proxy=None,
                open_timeout=self.bench.args.connect_timeout,
                max_size=2**23,
                max_queue=4096,
                ping_interval=None,  # daphne pings us; the bench adds no background traffic
                compression=None if self.bench.args.no_deflate else "deflate",
            )
        except Exception as exc:
            raise ConnectFailed(f"{self.role} {self.pair}: {type(exc).__name__}: {exc}") from exc
        try:
            first = json.loads(await asyncio.wait_for(self.ws.recv(), 15))
        except Exception as exc:
            code = getattr(getattr(self.ws, "close_code", None), "real", None)
            raise ConnectFailed(
                f"{self.role} {self.pair}: no hello ({exc!r}, close {code})"
            ) from exc
        if first.get("type") != "hello":
            await self.ws.close()
            raise ConnectFailed(f"{self.role} {self.pair}: {first}")
        self.heartbeat = first.get("heartbeat_interval")
        self.reader = asyncio.create_task(self.read_loop())
        return first

    async def request(self, frame: dict[str, Any], wait: float = 30.0) -> dict:
        self._ids += 1
        ref = f"{self.role[0]}{self.pair}.{self._ids}"
        future = asyncio.get_running_loop().create_future()
        self.pending[ref] = future
        await self.ws.send(json.dumps({**frame, "id": ref}))
        try:
            return await asyncio.wait_for(future, wait)
        finally:
            self.pending.pop(ref, None)

    async def read_loop(self) -> None:
        from websockets.exceptions import ConnectionClosed

        bench = self.bench
        try:
            async for raw in self.ws:
                t = now()
                frame = json.loads(raw)
                kind = frame.get("type")
                bench.frames[kind] += 1
                bench.frame_kinds[(kind, self.role, self.relation(frame))] += 1
                if kind == "message.new":
                    bench.on_new(self, frame["message"], t)
                elif kind == "message.accepted":
                    bench.on_accepted(frame, t)
                elif kind == "typing":
                    bench.on_typing(self, frame, t)
                elif kind == "error":
                    bench.on_error(self, frame)
                elif kind == "pong":
                    bench.on_pong(frame, t)
                ref = frame.get("ref")
                if ref is not None:
                    future = self.pending.pop(ref, None)
                    if future is not None and not future.done():
                        future.set_result(frame)
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            self.close_code = self.ws.close_code
            if not self.closing:
                bench.unexpected_closes.append(f"{self.role} {self.pair}: {self.ws.close_code}")
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("socket closed"))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 10)
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


@dataclass
class Pair:
    idx: int
    customer: CustomerCred
    agent: AgentCred
    cust: Sock
    agt: Sock
    conversation: int | None = None


# --- the benchmark ---------------------------------------------------------------------------
class Bench:
    def __init__(self, args, base: str, ws_base: str, origin: str, run_tag: str) -> None:
        self.args, self.base, self.ws_base, self.origin = args, base, ws_base, origin
        self.run_tag = run_tag
        self.pairs: list[Pair] = []
        self.msgs: dict[str, Msg] = {}
        self.unacked: dict[str, Msg] = {}
        self.frames: Counter = Counter()
        self.error_codes: Counter = Counter()
        self.step_errors: Counter = Counter()
        self.unexpected_closes: list[str] = []
        self.connect_failures: list[str] = []
        self.push_reordered = 0
        self.push_gaps = 0
        self.other_errors: list[dict] = []
        self.typing_queues: dict[tuple[int, str], deque[Msg]] = {}
        self.typing_strays = 0
        self.results: dict[str, Any] = {}
        self.step_runs = 0
        self.frame_kinds: Counter = Counter()  # (type, receiving role, own/other/-)
        self.pings: dict[str, float] = {}
        self.pongs: list[tuple[float, float]] = []  # (sent at, round trip s)
        self.backlog = BacklogProbe()

    # frame handlers (called by the readers)
    def on_new(self, sock: Sock, message: dict, t: float) -> None:
        conversation, seq = message.get("conversation"), message.get("seq")
        if isinstance(seq, int):
            top = sock.max_seq.get(conversation, 0)
            if seq > top + 1:
                self.push_gaps += 1
            elif seq <= top:
                self.push_reordered += 1
            sock.max_seq[conversation] = max(top, seq)
        rec = self.msgs.get(message.get("client_msg_id") or "")
        if rec is None:
            return
        if sock is rec.receiver:
            if rec.t_recv is None:
                rec.t_recv, rec.seq_new = t, seq
            else:
                rec.push_dups += 1
        elif sock is rec.sender and rec.t_echo is None:
            rec.t_echo = t

    def on_typing(self, sock: Sock, frame: dict, t: float) -> None:
        """Typing frames carry no id: match them in order per pair and direction (the layer
        keeps the order of one publisher's frames to one subscriber)."""
        if frame.get("role") == sock.role:
            return  # our own frame, echoed to our own principal group
        direction = "c2a" if frame.get("role") == "customer" else "a2c"
        queue = self.typing_queues.get((sock.pair, direction))
        if not queue:
            self.typing_strays += 1
            return
        rec = queue.popleft()
        rec.t_recv = t

    def on_accepted(self, frame: dict, t: float) -> None:
        rec = self.msgs.get(frame.get("client_msg_id") or "")
        if rec is None:
            return
        rec.acks += 1
        if rec.t_ack is None:
            rec.t_ack, rec.seq_ack = t, frame.get("seq")
            self.unacked.pop(rec.cmid, None)

    def on_pong(self, frame: dict, t: float) -> None:
        sent = self.pings.pop(str(frame.get("ref")), None)
        if sent is not None:
            self.pongs.append((sent, t - sent))

    async def heartbeats(self, stop: asyncio.Event) -> None:
        """Ping every socket once per heartbeat interval, spread evenly, as the widget and
        the console do. Without it the server takes a silent console for a lost one (after
        AGENT_HEARTBEAT_TIMEOUT, 60 s) and hands its chats back to the queue, and the
        agents' sends fail with ``forbidden``; and pings are part of a real load."""
        interval = self.args.heartbeat
        if interval is None:
            interval = next((p.cust.heartbeat for p in self.pairs if p.cust.heartbeat), 20)
        socks = [s for p in self.pairs for s in (p.cust, p.agt)]
        if interval <= 0 or not socks:
            return
        gap = interval / len(socks)
        t0 = now()
        for k in itertools.count():
            delay = t0 + k * gap - now()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            sock = socks[k % len(socks)]
            if sock.closed or sock.ws is None:
                continue
            ref = f"hb{k}"
            self.pings[ref] = now()
            with contextlib.suppress(Exception):
                await sock.ws.send(
                    json.dumps({"type": "ping", "id": ref, "t": int(time.time() * 1000)})
                )

    def on_error(self, sock: Sock, frame: dict) -> None:
        code = frame.get("code", "?")
        self.error_codes[code] += 1
        self.step_errors[code] += 1
        rec = self.msgs.get(str(frame.get("ref") or ""))
        if rec is not None:
            rec.errors.append(code)
        elif frame.get("ref") is None and len(self.other_errors) < 20:
            self.other_errors.append({"socket": f"{sock.role} {sock.pair}", **frame})

    # setup
    async def setup(self, customers: list[CustomerCred], agents: list[AgentCred]) -> None:
        from django.conf import settings

        cookie_name = settings.SESSION_COOKIE_NAME
        self.pairs = [
            Pair(i, c, a, Sock(self, "customer", i), Sock(self, "agent", i))
            for i, (c, a) in enumerate(zip(customers, agents, strict=True))
        ]
        gate = asyncio.Semaphore(self.args.connect_concurrency)

        async def agent_up(pair: Pair) -> None:
            async with gate:
                await pair.agt.connect(
                    f"{self.ws_base}/ws/agent/",
                    origin=self.origin,
                    headers={"Cookie": f"{cookie_name}={pair.agent.session_key}"},
                )

        async def customer_up(pair: Pair) -> None:
            async with gate:
                await pair.cust.connect(
                    f"{self.ws_base}/ws/widget/?token={pair.customer.token}",
                    origin=self.origin,
                    headers={},
                )
                reply = await pair.cust.request(
                    {"type": "conversation.start", "language": "en", "subject": "bench"}
                )
                if reply.get("type") != "conversation.started":
                    raise ConnectFailed(f"conversation.start {pair.idx}: {reply}")
                pair.conversation = reply["conversation"]["id"]
                pair.cust.conversation = pair.agt.conversation = pair.conversation
                pair.cust.max_seq[pair.conversation] = reply["conversation"]["last_seq"]
                pair.agt.max_seq[pair.conversation] = reply["conversation"]["last_seq"]

        async def take(pair: Pair) -> None:
            async with gate:
                reply = await pair.agt.request(
                    {"type": "conversation.take", "conversation": pair.conversation}
                )
                if reply.get("type") != "ack":
                    raise ConnectFailed(f"conversation.take {pair.idx}: {reply}")

        t0 = now()
        for stage, fn in (("agent connect", agent_up), ("customer connect+start", customer_up)):
            outcomes = await asyncio.gather(*(fn(p) for p in self.pairs), return_exceptions=True)
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            self.connect_failures += [f"{stage}: {o}" for o in failed]
        ready = [p for p in self.pairs if p.conversation and p.agt.reader and p.cust.reader]
        outcomes = await asyncio.gather(*(take(p) for p in ready), return_exceptions=True)
        self.connect_failures += [f"take: {o}" for o in outcomes if isinstance(o, BaseException)]
        ok = [p for p, o in zip(ready, outcomes, strict=True) if not isinstance(o, BaseException)]
        self.failed = [p for p in self.pairs if p not in ok]
        self.setup_seconds = now() - t0
        self.failed_pairs = len(self.pairs) - len(ok)
        self.pairs = ok
        await self.settle()

    async def settle(self, quiet: float = 2.0, limit: float = 180.0) -> None:
        """Wait until no frame has arrived for `quiet` seconds. Every conversation.start and
        take is broadcast to all agent consoles (N x N frames: 80,000 for 200 pairs), and a
        step that starts while the server still drains them measures the backlog."""
        t0 = now()
        frames_before = sum(self.frames.values())
        last_total, last_change = frames_before, now()
        while now() - last_change < quiet and now() - t0 < limit:
            await asyncio.sleep(0.25)
            total = sum(self.frames.values())
            if total != last_total:
                last_total, last_change = total, now()
        self.settle_seconds = now() - t0
        self.setup_frames = sum(self.frames.values())

    async def wait_quiet(self) -> None:
        """The machine is shared: before a step, wait (bounded) until processes that are not
        ours use less than --quiet-pct of a core, so that they do not skew the figures."""
        if self.args.quiet_wait <= 0:
            return
        t0 = last_note = now()
        while True:
            a = self.meter.sample()
            await asyncio.sleep(2.0)
            other = self.meter.usage(a, self.meter.sample())["other"]
            if other <= self.args.quiet_pct:
                return
            if now() - t0 > self.args.quiet_wait:
                print(f"  (other processes still use {other:.0f}% of a core; measuring anyway)")
                return
            if now() - last_note > 30:
                last_note = now()
                print(f"  (waiting: other processes use {other:.0f}% of a core)")

    # load
    def body(self, k: int, direction: str) -> str:
        text = f"bench {self.run_tag} {direction} #{k} "
        return (text + "x" * self.args.body_chars)[: max(self.args.body_chars, len(text))]

    async def send(self, rec: Msg) -> None:
        from websockets.exceptions import ConnectionClosed

        rec.t_last_try = now()
        if not rec.t_send:
            rec.t_send = rec.t_last_try
        try:
            await rec.sender.ws.send(rec.frame)
        except ConnectionClosed:
            rec.send_failed = True

    async def outbox(self, stop: asyncio.Event) -> None:
        """Resend what has no message.accepted after --ack-timeout, with the same
        client_msg_id, as the protocol tells clients to (a rate_limited error carries no ref,
        so the timeout is how a client learns which frame was dropped)."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
            t = now()
            for rec in list(self.unacked.values()):
                if (
                    rec.t_ack is None
                    and t - rec.t_last_try > self.args.ack_timeout
                    and rec.retries < self.args.max_retries
                    and not rec.sender.closed
                ):
                    rec.retries += 1
                    await self.send(rec)

    async def run_step(self, step: int, rate: float) -> dict[str, Any]:
        args, pairs = self.args, self.pairs
        n_pairs = len(pairs)
        if args.messages_per_pair:
            measured_count = args.messages_per_pair * n_pairs
        else:
            measured_count = round(rate * args.duration)
        warmup_count = round(rate * args.warmup)
        total = warmup_count + measured_count
        self.step_errors = Counter()
        self.step_runs += 1
        closes_before = len(self.unexpected_closes)
        gaps_before, reorder_before = self.push_gaps, self.push_reordered
        step_msgs: list[Msg] = []
        t0 = now() + 0.05
        cpu_start = None
        stop_backlog = asyncio.Event()
        backlog_task = None
        meter = self.meter
        for k in range(total):
            t_sched = t0 + k / rate
            delay = t_sched - now()
            if delay > 0:
                await asyncio.sleep(delay)
            if k == warmup_count:
                cpu_start, frames_start = meter.sample(), Counter(self.frame_kinds)
                backlog_task = asyncio.create_task(self.backlog.watch(stop_backlog))
            pair = pairs[k % n_pairs]
            outbound = (k // n_pairs + pair.idx) % 2 == 0
            sender, receiver = (pair.cust, pair.agt) if outbound else (pair.agt, pair.cust)
            direction = "c2a" if outbound else "a2c"
            cmid = f"b.{self.run_tag}.{self.step_runs}.{k}"  # unique: a rerun is new messages
            if args.load == "typing":
                frame = json.dumps(
                    {
                        "type": "typing",
                        "conversation": pair.conversation,
                        "state": "start" if k % 2 else "stop",
                    }
                )
            else:
                frame = json.dumps(
                    {
                        "type": "message.send",
                        "id": cmid,
                        "conversation": pair.conversation,
                        "client_msg_id": cmid,
                        "body": self.body(k, direction),
                    }
                )
            rec = Msg(
                cmid, step, k >= warmup_count, pair.idx, direction, sender, receiver, frame,
                t_sched, args.load,
            )  # fmt: skip
            step_msgs.append(rec)
            if args.load == "typing":
                self.typing_queues.setdefault((pair.idx, direction), deque()).append(rec)
            else:
                self.msgs[cmid] = rec
                self.unacked[cmid] = rec
            if sender.closed:
                rec.send_failed = True
                continue
            await self.send(rec)
        t_last_send = now()
        if cpu_start is None:
            cpu_start, frames_start = meter.sample(), Counter(self.frame_kinds)
            backlog_task = asyncio.create_task(self.backlog.watch(stop_backlog))
        # Drain: wait for every ack and every push of this step, within a bound.
        deadline = t_last_send + args.drain
        while now() < deadline:
            if all(
                ((r.t_ack is not None or r.kind == "typing") and r.t_recv is not None)
                or r.send_failed
                for r in step_msgs
            ):
                break
            await asyncio.sleep(0.05)
        measured = [r for r in step_msgs if r.measured]
        cpu_end = meter.sample()
        stop_backlog.set()
        backlog = await backlog_task
        frames = Counter(self.frame_kinds)
        frames.subtract(frames_start)
        return self.step_report(
            step, rate, measured, step_msgs, cpu_start, cpu_end,
            frames=+frames, backlog=backlog,
            closes=len(self.unexpected_closes) - closes_before,
            gaps=self.push_gaps - gaps_before,
            reordered=self.push_reordered - reorder_before,
        )  # fmt: skip

    def step_report(
        self, step, rate, measured, step_msgs, cpu_start, cpu_end, *, closes, gaps, reordered,
        frames, backlog,
    ) -> dict[str, Any]:  # fmt: skip
        sent = [r for r in measured if r.t_send and not r.send_failed]
        first_send = min((r.t_send for r in sent), default=0.0)
        last_send = max((r.t_send for r in sent), default=0.0)
        delivered = [r for r in sent if r.t_recv is not None]
        last_recv = max((r.t_recv for r in delivered), default=first_send)
        span_send = max(last_send - first_send, 1e-9)
        span_recv = max(last_recv - first_send, 1e-9)
        cpu = self.meter.usage(cpu_start, cpu_end)
        # CPU per message: every CPU second the roles spent between the end of the warm-up
        # and the end of the drain, over the messages the server finished in that window
        # (accepted; typing: delivered), warm-up stragglers included, so that an overloaded
        # step is not credited with work it has not done. The drain waits for the pushes,
        # not for the worker: read it beside the pipeline's backlog.
        t_a, t_b = cpu_start["t"], cpu_end["t"]
        done = [
            r for r in step_msgs
            if (r.t_recv if r.kind == "typing" else r.t_ack) is not None
            and t_a <= (r.t_recv if r.kind == "typing" else r.t_ack) <= t_b
        ]  # fmt: skip
        n = max(1, len(done))
        cpu_ms = {role: 1000.0 * v / n for role, v in cpu["seconds"].items()}
        cpu_ms["server_all"] = sum(
            cpu_ms.get(r, 0.0) for r in (*CpuMeter.ROLES, *(f"db_{x}" for x in CpuMeter.ROLES))
        ) + cpu_ms.get("db_other", 0.0)
        idle = getattr(self, "idle", None)
        if idle:  # the same roles at rest (sweeps, heartbeats), over the same wall time
            base = (
                sum(idle["seconds"].get(r, 0.0) for r, v in cpu["seconds"].items() if r != "client")
                / idle["wall"]
                * cpu["wall"]
            )
            cpu_ms["above_idle"] = (
                cpu_ms["server_all"] + cpu_ms.get("redis", 0.0) - (1000.0 * base / n)
            )
        pongs = [rtt for sent_at, rtt in self.pongs if cpu_start["t"] <= sent_at <= cpu_end["t"]]
        report = {
            "step": step,
            "target_rate": rate,
            "load": self.args.load,
            "pairs": len(self.pairs),
            "per_socket_rate": rate / (2 * max(1, len(self.pairs))),
            "measured_messages": len(measured),
            "done_in_window": len(done),
            "warmup_messages": len(step_msgs) - len(measured),
            "sent_rate": len(sent) / span_send if len(sent) > 1 else None,
            "delivered_rate": len(delivered) / span_recv if len(delivered) > 1 else None,
            "deliver": summary_ms([r.t_recv - r.t_send for r in delivered]),
            "deliver_c2a": summary_ms(
                [r.t_recv - r.t_send for r in delivered if r.direction == "c2a"]
            ),
            "deliver_a2c": summary_ms(
                [r.t_recv - r.t_send for r in delivered if r.direction == "a2c"]
            ),
            "ack": summary_ms([r.t_ack - r.t_send for r in sent if r.t_ack is not None]),
            "send_lag": summary_ms([r.t_send - r.t_sched for r in sent]),
            "not_acked": sum(1 for r in step_msgs if r.t_ack is None and r.kind == "message"),
            "not_pushed": sum(1 for r in step_msgs if r.t_recv is None),
            "push_dups": sum(r.push_dups for r in step_msgs),
            "duplicate_acks": sum(max(0, r.acks - 1) for r in step_msgs),
            "retries": sum(r.retries for r in step_msgs),
            "send_failed": sum(1 for r in step_msgs if r.send_failed),
            "error_frames": dict(self.step_errors),
            "unexpected_closes": closes,
            "push_gaps": gaps,
            "push_reordered": reordered,
            "cpu_pct": cpu,
            "cpu_ms_per_msg": cpu_ms,
            "ncpu": self.meter.ncpu,
            "frames": {"|".join(k): v for k, v in sorted(frames.items())},
            "frames_per_msg": {"|".join(k): v / n for k, v in sorted(frames.items())},
            "backlog": backlog,
            "db_per_msg": {k: v / n for k, v in backlog.get("db", {}).items()},
            "pong": summary_ms(pongs),
        }
        return report

    # verification
    async def read_back(self, pair: Pair) -> tuple[list[dict], int | None, str]:
        """All messages of a pair's conversation, from seq 1, by resume (or REST)."""
        messages: list[dict] = []
        last_seq = None
        after = 0
        for sock in (pair.cust, pair.agt):
            if sock.closed:
                continue
            for _ in range(100_000):
                reply = await sock.request(
                    {"type": "resume", "conversation": pair.conversation, "after_seq": after},
                    wait=120.0,
                )
                if reply.get("type") == "error" and reply.get("code") == "rate_limited":
                    await asyncio.sleep(1.0)
                    continue
                if reply.get("type") != "messages.batch":
                    raise RuntimeError(f"resume {pair.idx}: {reply}")
                messages += reply["messages"]
                last_seq = reply["conversation"]["last_seq"]
                if not reply["has_more"] or not reply["messages"]:
                    return messages, last_seq, "resume"
                after = reply["messages"][-1]["seq"]
        # Both sockets are gone: the REST API has the same pages.
        while True:
            url = (
                f"{self.base}/api/v1/conversations/{pair.conversation}/messages/"
                f"?after_seq={after}&limit=200"
            )
            status, page = await asyncio.to_thread(
                http_json, "GET", url, None, {"Authorization": f"Visitor {pair.customer.token}"}
            )
            if status != 200:
                raise RuntimeError(f"GET {url}: {status} {page}")
            messages += page["messages"]
            last_seq = page["conversation"]["last_seq"]
            if not page["has_more"] or not page["messages"]:
                return messages, last_seq, "rest"
            after = page["messages"][-1]["seq"]

    async def verify(self) -> dict[str, Any]:
        by_pair: dict[int, list[Msg]] = {}
        for rec in self.msgs.values():
            by_pair.setdefault(rec.pair, []).append(rec)
        gate = asyncio.Semaphore(self.args.connect_concurrency)
        totals = Counter()
        problems: list[str] = []

        async def one(pair: Pair) -> None:
            async with gate:
                try:
                    stored, last_seq, how = await self.read_back(pair)
                except Exception as exc:
                    totals["unverified_conversations"] += 1
                    problems.append(f"pair {pair.idx}: {type(exc).__name__} {exc}")
                    return
            totals[f"read_by_{how}"] += 1
            seqs = [m["seq"] for m in stored]
            totals["stored_messages"] += len(stored)
            if any(b <= a for a, b in itertools.pairwise(seqs)):
                totals["out_of_order"] += 1
                problems.append(f"pair {pair.idx}: seqs not increasing")
            if seqs != list(range(1, len(seqs) + 1)) or (last_seq or 0) != len(seqs):
                totals["seq_gaps"] += 1
                problems.append(f"pair {pair.idx}: seqs not 1..{last_seq} without gaps")
            counts = Counter(m.get("client_msg_id") for m in stored)
            seq_of = {m.get("client_msg_id"): m["seq"] for m in stored}
            for rec in by_pair.get(pair.idx, []):
                n = counts.get(rec.cmid, 0)
                totals["sent"] += 1
                if n == 0:
                    if rec.t_ack is not None:
                        totals["lost"] += 1  # accepted, then gone: the worst case
                        problems.append(f"{rec.cmid}: accepted as seq {rec.seq_ack}, not stored")
                    else:
                        totals["never_accepted"] += 1
                    continue
                if n > 1:
                    totals["dup"] += n - 1
                    problems.append(f"{rec.cmid}: stored {n} times")
                if rec.seq_ack is not None and rec.seq_ack != seq_of[rec.cmid]:
                    totals["ack_seq_mismatch"] += 1
                if rec.seq_new is not None and rec.seq_new != seq_of[rec.cmid]:
                    totals["push_seq_mismatch"] += 1
                if rec.t_recv is None:
                    totals["push_missed"] += 1  # stored, but the live push never came
            ours = {rec.cmid for rec in by_pair.get(pair.idx, [])}
            strangers = [
                m for m in stored if m.get("kind") == "text" and m.get("client_msg_id") not in ours
            ]
            totals["unexpected_messages"] += len(strangers)

        await asyncio.gather(*(one(p) for p in self.pairs))
        for key in (
            "sent",
            "stored_messages",
            "lost",
            "dup",
            "never_accepted",
            "out_of_order",
            "seq_gaps",
            "ack_seq_mismatch",
            "push_seq_mismatch",
            "push_missed",
            "unexpected_messages",
            "unverified_conversations",
        ):
            totals.setdefault(key, 0)
        return {"conversations": len(self.pairs), **dict(totals), "problems": problems[:20]}

    async def teardown(self) -> None:
        gate = asyncio.Semaphore(self.args.connect_concurrency)

        async def resolve(pair: Pair) -> None:
            async with gate:
                if not pair.agt.closed:
                    with contextlib.suppress(Exception):
                        await pair.agt.request(
                            {"type": "conversation.resolve", "conversation": pair.conversation},
                            wait=15,
                        )

        async def resolve_failed(pair: Pair) -> None:
            # A pair whose take failed left its customer waiting in the queue: the router's
            # sweeps would walk that entry every second of every later run.
            async with gate:
                if pair.conversation and pair.cust.reader and not pair.cust.closed:
                    with contextlib.suppress(Exception):
                        await pair.cust.request(
                            {"type": "conversation.resolve", "conversation": pair.conversation},
                            wait=15,
                        )

        if not self.args.keep_open:
            await asyncio.gather(*(resolve(p) for p in self.pairs))
            await asyncio.gather(*(resolve_failed(p) for p in getattr(self, "failed", [])))
        pairs = self.pairs + getattr(self, "failed", [])
        socks = [s for p in pairs for s in (p.cust, p.agt) if s.ws is not None]
        await asyncio.gather(*(s.close() for s in socks))


# --- output ----------------------------------------------------------------------------------
def print_step(r: dict[str, Any]) -> None:
    def rate(v):
        return "-" if v is None else f"{v:.0f}"

    print(
        f"\n== step {r['step']}: target {r['target_rate']:.0f} msg/s, {r['pairs']} pairs "
        f"({r['per_socket_rate']:.2f} msg/s per socket), {r['measured_messages']} measured "
        f"+ {r['warmup_messages']} warm-up messages"
    )
    print(
        f"  sent       {rate(r['sent_rate'])} msg/s   delivered {rate(r['delivered_rate'])} msg/s"
    )
    print(f"  send->new  {fmt_summary(r['deliver'])}")
    print(f"    c2a      {fmt_summary(r['deliver_c2a'])}")
    print(f"    a2c      {fmt_summary(r['deliver_a2c'])}")
    print(f"  send->ack  {fmt_summary(r['ack'])}")
    print(f"  send lag   {fmt_summary(r['send_lag'])}  (client behind its schedule)")
    c = r["cpu_pct"]
    print(
        f"  cpu        server {c['server']:.0f}%  db {c['db']:.0f}%  client {c['client']:.0f}%  "
        f"other {c['other']:.0f}%  (machine {c['machine']:.0f}% of {r['ncpu'] * 100}%; 100% = "
        "one core)" + ("" if c["server_found"] else "  [server process not found]")
    )
    print(
        f"  cpu by role daphne {c.get('daphne', 0):.0f}%  worker {c.get('worker', 0):.0f}%  "
        f"beat {c.get('beat', 0):.0f}%  db: for daphne {c.get('db_daphne', 0):.0f}%, for "
        f"worker {c.get('db_worker', 0):.0f}%, for beat {c.get('db_beat', 0):.0f}%, other "
        f"{c.get('db_other', 0):.0f}%  redis {c.get('redis', 0):.0f}%"
    )
    print(
        f"  cpu/msg    {fmt_cpu_ms(r['cpu_ms_per_msg'])}  [over {r['done_in_window']} "
        f"{'delivered' if r['target_rate'] and r.get('load') == 'typing' else 'accepted'}]"
    )
    print(f"  backlog    {fmt_backlog(r['backlog'])}")
    d = r["db_per_msg"]
    if d:
        print(
            f"  database   per message: {d['sessions']:.2f} new connections, "
            f"{d['xact_commit']:.1f} commits, {d['active_time']:.2f} ms in statements, rows "
            f"{d['tup_inserted']:.1f} inserted / {d['tup_updated']:.1f} updated / "
            f"{d['tup_fetched']:.0f} fetched"
        )
    if r["pong"]["n"]:
        print(f"  pong       {fmt_summary(r['pong'])}")
    print_frames(r["frames_per_msg"])
    if c["other"] > OTHER_CPU_WARN:
        print("  warning    other processes used the CPUs during this step: figures unreliable")
    print(
        f"  errors     not_acked={r['not_acked']} not_pushed={r['not_pushed']} "
        f"push_dups={r['push_dups']} dup_acks={r['duplicate_acks']} retries={r['retries']} "
        f"send_failed={r['send_failed']} closes={r['unexpected_closes']} "
        f"push_gaps={r['push_gaps']} push_reordered={r['push_reordered']} "
        f"error_frames={r['error_frames'] or 0}"
    )


def fmt_cpu_ms(ms: dict[str, float]) -> str:
    def one(role: str) -> str:
        return f"{ms.get(role, 0.0):.1f}"

    text = (
        f"daphne {one('daphne')} + db {one('db_daphne')} | worker {one('worker')} + db "
        f"{one('db_worker')} | beat {one('beat')} + db {one('db_beat')}"
    )
    if ms.get("runner", 0) >= 0.05 or ms.get("db_other", 0) >= 0.05:
        text += f" | runner {one('runner')}, db other {one('db_other')}"
    text += f" = {one('server_all')} ms"
    if "above_idle" in ms:
        text += f" ({ms['above_idle']:.1f} above idle, redis included)"
    return text + f"; redis {one('redis')} (shared), client {one('client')}"


def print_frames(per_msg: dict[str, float]) -> None:
    by_type: dict[str, list[tuple[str, float]]] = {}
    for key, value in per_msg.items():
        kind, role, relation = key.split("|")
        by_type.setdefault(kind, []).append((f"{role} {relation}", value))
    total = sum(per_msg.values())
    print(f"  frames     {total:.2f} per message sent:")
    for kind, parts in sorted(by_type.items(), key=lambda kv: -sum(v for _, v in kv[1])):
        detail = ", ".join(f"{who} {v:.2f}" for who, v in sorted(parts, key=lambda p: -p[1]))
        print(f"    {kind:<22} {sum(v for _, v in parts):5.2f}  ({detail})")


def fmt_backlog(b: dict[str, Any]) -> str:
    parts = []
    for name, label in (("pending", "messages pending"), ("queued", "tasks in the broker")):
        if name in b:
            v = b[name]
            slope = f", slope {v['slope']:+.2f}/s" if "slope" in v else ""
            parts.append(f"{label} {v['start']} -> {v['end']} (max {v['max']}{slope})")
    return "; ".join(parts) + f"  [{b.get('samples', 0)} samples]" if parts else "-"


def print_table(steps: list[dict[str, Any]]) -> None:
    print("\n| target msg/s | sent/s | delivered/s | p50 ms | p95 ms | p99 ms | max ms "
          "| ack p50 | ack p99 | not pushed | errors | CPU server | db | client | other "
          "| CPU ms/msg daphne | worker | beat | db | all | backlog slope/s |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
          "|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    for r in steps:
        d, a = r["deliver"], r["ack"]
        errors = sum(r["error_frames"].values()) + r["unexpected_closes"] + r["send_failed"]
        c, m = r["cpu_pct"], r["cpu_ms_per_msg"]
        pending = r["backlog"].get("pending", {})
        slope = f"{pending['slope']:+.2f}" if "slope" in pending else "-"
        print(
            f"| {r['target_rate']:.0f}{' (noisy)' if r.get('noisy') else ''} | {r['sent_rate'] or 0:.0f} | {r['delivered_rate'] or 0:.0f} "
            f"| {fmt_ms(d['p50'])} | {fmt_ms(d['p95'])} | {fmt_ms(d['p99'])} | {fmt_ms(d['max'])} "
            f"| {fmt_ms(a['p50'])} | {fmt_ms(a['p99'])} | {r['not_pushed']} | {errors} "
            f"| {c['server']:.0f}% | {c['db']:.0f}% | {c['client']:.0f}% | {c['other']:.0f}% "
            f"| {m.get('daphne', 0):.1f} | {m.get('worker', 0):.1f} | {m.get('beat', 0):.1f} "
            f"| {sum(v for k, v in m.items() if k.startswith('db_')):.1f} "
            f"| {m.get('server_all', 0):.1f} | {slope} |"
        )


# --- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--url", default="http://127.0.0.1:8000", help="the running server (local)")
    p.add_argument("--origin", help="Origin header (default: the --url's scheme://host:port)")
    p.add_argument(
        "--site-key",
        default="bench-ws-pairs",
        help="widget site; made if missing, with no bot flow and its own queue that no agent "
        "subscribes to, so that every conversation waits until its pair's agent takes it",
    )
    p.add_argument("--pairs", type=int, default=50, help="customer/agent socket pairs")
    p.add_argument(
        "--rate",
        default="200",
        help="target messages/s overall, both directions together; a comma list runs "
        "steps on the same sockets, e.g. 100,200,400",
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--duration", type=float, default=10.0, help="measured seconds per step")
    g.add_argument("--messages-per-pair", type=int, help="measured messages per pair per step")
    p.add_argument(
        "--load",
        choices=["message", "typing"],
        default="message",
        help="message: message.send (stored, the real path); typing: typing frames "
        "(socket and layer only, no database write: Parley's own bare relay)",
    )
    p.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each step")
    p.add_argument("--heartbeat", type=float, default=None,
                   help="seconds between one socket's pings (default: the server's "
                   "heartbeat_interval from hello, as real clients do; 0: no pings)")  # fmt: skip
    p.add_argument("--idle-seconds", type=float, default=5.0,
                   help="measure every role's CPU at rest for this long before the first "
                   "step, to print CPU per message above idle (0: skip)")  # fmt: skip
    p.add_argument("--backlog-every", type=float, default=5.0,
                   help="seconds between reads of the language pipeline's backlog")  # fmt: skip
    p.add_argument("--drain", type=float, default=15.0, help="max seconds to wait after a step")
    p.add_argument("--pause", type=float, default=2.0, help="seconds between steps")
    p.add_argument("--body-chars", type=int, default=80, help="message body length")
    p.add_argument("--ack-timeout", type=float, default=5.0, help="resend after this long")
    p.add_argument("--max-retries", type=int, default=3)
    p.add_argument("--stop-p99-ms", type=float, default=1000.0,
                   help="skip the remaining (higher) steps once a step's p99 exceeds this")  # fmt: skip
    p.add_argument("--quiet-pct", type=float, default=15.0,
                   help="before a step, wait until foreign processes use less than this "
                   "percent of one core")  # fmt: skip
    p.add_argument("--noisy-retries", type=int, default=3,
                   help="run a step again (up to this many times) when other processes used "
                   f"more than {OTHER_CPU_WARN:.0f}%% of a core during it")  # fmt: skip
    p.add_argument("--quiet-wait", type=float, default=600.0,
                   help="max seconds to wait for that (0: do not wait)")  # fmt: skip
    p.add_argument("--connect-concurrency", type=int, default=16)
    p.add_argument("--connect-timeout", type=float, default=20.0)
    p.add_argument("--no-deflate", action="store_true", help="do not offer permessage-deflate")
    p.add_argument("--no-direct-customers", action="store_true",
                   help="fail instead of creating customers in-process when the API throttles")  # fmt: skip
    p.add_argument("--keep-open", action="store_true", help="do not resolve the conversations")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    try:
        args.rates = [float(x) for x in str(args.rate).split(",") if x.strip()]
    except ValueError:
        p.error("--rate takes numbers, e.g. 200 or 100,200,400")
    if not args.rates or any(r <= 0 or r > MAX_RATE for r in args.rates):
        p.error(f"each --rate must be in (0, {MAX_RATE:.0f}]")
    if args.heartbeat is not None and args.heartbeat and not 1 <= args.heartbeat <= 300:
        p.error("--heartbeat must be 0 or 1..300 seconds")
    if not 0 <= args.idle_seconds <= 60 or not 1 <= args.backlog_every <= 60:
        p.error("--idle-seconds must be 0..60 and --backlog-every 1..60")
    if not 1 <= args.pairs <= MAX_PAIRS:
        p.error(f"--pairs must be 1..{MAX_PAIRS}")
    for rate in args.rates:
        seconds = (
            args.messages_per_pair * args.pairs / rate if args.messages_per_pair else args.duration
        )
        if seconds + args.warmup > MAX_STEP_SECONDS:
            p.error(f"a step would last {seconds + args.warmup:.0f}s (max {MAX_STEP_SECONDS:.0f}s)")
        if rate * (seconds + args.warmup) > MAX_MESSAGES:
            p.error(f"a step would send more than {MAX_MESSAGES} messages")
    return args


async def amain(args, bench: Bench, customers, agents) -> dict[str, Any]:
    from django.conf import settings

    limit = settings.PARLEY["WS_RATE_PER_SECOND"]
    print(
        f"setup: {len(customers)} customers "
        f"({sum(c.via == 'rest' for c in customers)} via REST, "
        f"{sum(c.via == 'direct' for c in customers)} in-process after the API throttled), "
        f"{len(agents)} agents"
    )
    await bench.setup(customers, agents)
    print(
        f"setup: {len(bench.pairs)} pairs ready in {bench.setup_seconds:.1f}s, "
        f"{bench.failed_pairs} failed; {bench.setup_frames} frames received during setup, "
        f"quiet after {bench.settle_seconds:.1f}s more"
    )
    for failure in bench.connect_failures[:10]:
        print(f"  connect failure: {failure}")
    if bench.vacuum is not None:
        t = now()
        await asyncio.to_thread(bench.vacuum.analyze)
        print(f"setup: ANALYZE in {now() - t:.1f}s")
    if not bench.pairs:
        raise SystemExit("no pair could be set up")
    bench.backlog.every = args.backlog_every
    hb_stop = asyncio.Event()
    heartbeats = asyncio.create_task(bench.heartbeats(hb_stop))
    if args.idle_seconds > 0:
        a = bench.meter.sample()
        await asyncio.sleep(args.idle_seconds)
        bench.idle = bench.meter.usage(a, bench.meter.sample())
        i = bench.idle
        print(
            f"idle ({args.idle_seconds:g}s, heartbeats on): daphne {i.get('daphne', 0):.1f}%  "
            f"worker {i.get('worker', 0):.1f}%  beat {i.get('beat', 0):.1f}%  db "
            f"{i['db']:.1f}%  redis {i.get('redis', 0):.1f}%  other {i['other']:.0f}% of a core"
        )
    stop = asyncio.Event()
    outbox = asyncio.create_task(bench.outbox(stop))
    steps = []
    try:
        for step, rate in enumerate(args.rates, 1):
            per_socket = rate / (2 * len(bench.pairs))
            if per_socket > 0.9 * limit:
                print(
                    f"\nwarning: {per_socket:.1f} frames/s per socket is near or over the "
                    f"server's WS_RATE_PER_SECOND={limit:g}; expect rate_limited errors "
                    "(use more pairs, or raise the limit on the server)"
                )
            for attempt in range(args.noisy_retries + 1):
                await bench.wait_quiet()
                report = await bench.run_step(step, rate)
                report["noisy"] = report["cpu_pct"]["other"] > OTHER_CPU_WARN
                report["attempt"] = attempt + 1
                print_step(report)
                if not report["noisy"] or attempt == args.noisy_retries:
                    break
                print("  other processes disturbed this step: running it again")
                await asyncio.sleep(args.pause)
            steps.append(report)
            p99 = report["deliver"]["p99"]
            overloaded = p99 is None or p99 > args.stop_p99_ms
            if overloaded or report["unexpected_closes"]:
                if step < len(args.rates):
                    print(f"\nstopping: p99 {fmt_ms(p99)} ms is over --stop-p99-ms or sockets died")
                break
            if step < len(args.rates):
                await asyncio.sleep(args.pause)
    finally:
        stop.set()
        await outbox
    # An overloaded server may still be working through queued frames and retries: wait
    # until every message is acknowledged or nothing has arrived for a while, then read
    # everything back.
    for _ in range(240):  # at most 120 s
        if not bench.unacked:
            break
        await asyncio.sleep(0.5)
    await bench.settle(quiet=3.0, limit=120.0)
    verification = await bench.verify()
    hb_stop.set()
    await heartbeats
    await bench.teardown()
    idle = getattr(bench, "idle", None)
    return {
        "steps": steps,
        "verify": verification,
        "idle_cpu_pct": {k: v for k, v in idle.items() if k != "seconds"} if idle else None,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base, ws_base = check_local(args.url)
    origin = args.origin or base
    django_setup()
    from django.conf import settings
    from django.db import connection

    run_tag = uuid.uuid4().hex[:8]
    db = settings.DATABASES["default"]
    print(
        f"ws_pairs {run_tag}: {base}, {args.pairs} pairs, rates {args.rates} msg/s, "
        f"db {db['ENGINE'].rsplit('.', 1)[-1]} {db['NAME']}, layer "
        f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}"
    )
    status, _ = http_json("GET", f"{base}/healthz")
    if status != 200:
        raise SystemExit(f"{base}/healthz answered {status}; is the server running?")
    t = now()
    try:
        site_known = site_prepare(args.site_key)
    except Exception as exc:  # no tables: certainly not the server's database
        site_known = False
        print(f"database check failed: {exc}")
    if not site_known:
        raise SystemExit(
            f"Site {args.site_key!r} is not in {db['NAME']}: run the script with the server's "
            "environment (PARLEY_DATA_DIR, or DATABASE_URL / REDIS_URL / SECRET_KEY)."
        )
    agents = agents_prepare(args.pairs)
    customers = customers_prepare(
        base=base,
        origin=origin,
        site_key=args.site_key,
        count=args.pairs,
        run_tag=run_tag,
        allow_direct=not args.no_direct_customers,
    )
    connection.close()  # the event loop never touches the ORM
    print(f"setup: agents and customers made in {now() - t:.1f}s")
    bench = Bench(args, base, ws_base, origin, run_tag)
    is_postgres = "postgresql" in db["ENGINE"]
    redis_url = urlsplit(str(getattr(settings, "REDIS_URL", "")))
    redis_port = (redis_url.port or 6379) if redis_url.scheme in ("redis", "rediss") else None
    bench.meter = CpuMeter(
        urlsplit(base).port or 80, str(db["NAME"]) if is_postgres else None, redis_port
    )
    bench.vacuum = None
    if is_postgres:
        # On this machine's PostgreSQL (autovacuum off, as in CI) nothing would ever
        # analyze the tables the set-up fills, and a fresh database's plans would then be
        # made from empty-table estimates: the ramps would measure that, not the send
        # path. amain analyzes once after the set-up; this thread then stands in for
        # autovacuum as a production server runs it.
        bench.vacuum = AutovacuumStandIn(str(db["NAME"]))
        if bench.vacuum.start():
            print("PostgreSQL's autovacuum is off here: VACUUM ANALYZE every 60 s in its place")
    try:
        results = asyncio.run(amain(args, bench, customers, agents))
    finally:
        if bench.vacuum is not None:
            bench.vacuum.stop.set()
        bench.backlog.close()
        agents_sessions_delete(agents)
    v = results["verify"]
    if len(results["steps"]) > 1:
        print_table(results["steps"])
    print(
        f"\nverify ({v.get('read_by_resume', 0)} by resume, {v.get('read_by_rest', 0)} by REST): "
        f"conversations={v['conversations']} sent={v['sent']} stored={v['stored_messages']} "
        f"(incl. 'joined' lines)\n"
        f"  lost={v['lost']} dup={v['dup']} out_of_order={v['out_of_order']} "
        f"seq_gaps={v['seq_gaps']} never_accepted={v['never_accepted']} "
        f"push_missed={v['push_missed']} ack_seq_mismatch={v['ack_seq_mismatch']} "
        f"unverified={v['unverified_conversations']}"
    )
    print(
        f"  failed_connects={len(bench.connect_failures)} "
        f"unexpected_closes={len(bench.unexpected_closes)} "
        f"error_frames={dict(bench.error_codes) or 0}"
        + (f" typing_strays={bench.typing_strays}" if args.load == "typing" else "")
    )
    for problem in v["problems"]:
        print(f"  problem: {problem}")
    for frame in bench.other_errors[:5]:
        print(f"  error frame without ref: {frame}")
    if args.json:
        out = {
            "run": run_tag,
            "url": base,
            "pairs": args.pairs,
            "database": db["ENGINE"],
            "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
            "setup_seconds": bench.setup_seconds,
            "failed_connects": bench.connect_failures,
            "unexpected_closes": bench.unexpected_closes,
            "frames": dict(bench.frames),
            **results,
        }
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))
    bad = (
        v["lost"]
        or v["dup"]
        or v["out_of_order"]
        or v["seq_gaps"]
        or v["never_accepted"]
        or v["unverified_conversations"]
        or bench.connect_failures
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
