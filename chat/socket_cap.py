"""How many sockets one principal (a visitor, an agent) may hold open, across every
process: WS_MAX_SOCKETS_PER_VISITOR and WS_MAX_SOCKETS_PER_AGENT.

Each open socket holds a lease in a Redis sorted set per principal (member: the socket's
channel name, score: when the lease ends). A socket takes its lease at the handshake,
renews it on a heartbeat once half of it has gone, and gives it back when it closes; the
lease of a socket whose process was killed runs out by itself after LEASE seconds, so a
reconnect storm does not lock anybody out for long. One Lua script counts and adds, so two
handshakes at once cannot both take the last place.

When Redis cannot be reached the cap is not enforced (fail open, logged at most every 30 s):
a visitor must be able to chat while Redis is down (docs/operations.md). With the
in-memory channel layer (one process, the embedded test tier) the leases live in memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from django.conf import settings
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from config import redis_conn

logger = logging.getLogger(__name__)

LEASE = 120.0  # seconds; several heartbeats, so a live socket always renews in time
RENEW_AFTER = LEASE / 2
WARN_EVERY = 30.0

_ACQUIRE = """
local key, now, expires = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local cap, member, ttl = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if not redis.call('ZSCORE', key, member) and redis.call('ZCARD', key) >= cap then
  return 0
end
redis.call('ZADD', key, expires, member)
redis.call('EXPIRE', key, ttl)
return 1
"""

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_memory: dict[str, dict[str, float]] = {}
_releasing: set[asyncio.Task] = set()
_warned_at = 0.0


def cap_for(kind: str) -> int:
    cfg = settings.PARLEY
    return cfg["WS_MAX_SOCKETS_PER_AGENT" if kind == "agent" else "WS_MAX_SOCKETS_PER_VISITOR"]


def _in_memory() -> bool:
    return settings.CHANNEL_LAYER_BACKEND == "memory"


def _client() -> aioredis.Redis:
    """One client per event loop (redis.asyncio connections belong to the loop)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.parley_url != redis_conn.identity():
        client = redis_conn.async_client(
            socket_connect_timeout=1.0,  # a handshake waits at most this for a dead Redis
            socket_timeout=2.0,
            max_connections=200,
        )
        client.parley_url = redis_conn.identity()
        _clients[loop] = client
    return client


def _warn(what: str) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at >= WARN_EVERY:
        _warned_at = now
        logger.warning("socket cap not enforced: %s (Redis unreachable)", what, exc_info=True)


def forget() -> None:
    """Drop the in-memory leases (tests: ids repeat across SQLite test databases)."""
    _memory.clear()


class SocketLease:
    def __init__(self, kind: str, principal_id: int, channel_name: str) -> None:
        self.key = f"{settings.REDIS_KEY_PREFIX}:sockets:{kind}:{principal_id}"
        self.cap = cap_for(kind)
        self.member = channel_name
        self.renewed = 0.0
        self.held = False

    async def acquire(self) -> bool:
        """Take a place; False when the principal already holds `cap` live sockets."""
        now = time.time()
        if _in_memory():
            leases = _memory.setdefault(self.key, {})
            for member, until in list(leases.items()):
                if until <= now:
                    del leases[member]
            if self.member not in leases and len(leases) >= self.cap:
                return False
            leases[self.member] = now + LEASE
            ok = True
        else:
            try:
                expires, ttl = now + LEASE, int(LEASE) + 1
                script = _client().eval(
                    _ACQUIRE, 1, self.key, now, expires, self.cap, self.member, ttl
                )
                ok = bool(await script)
            except (RedisError, OSError):
                _warn("acquire")
                ok = True  # fail open: the handshake goes on
        self.held = ok
        self.renewed = time.monotonic()
        return ok

    async def renew_if_due(self) -> None:
        """On a heartbeat: push the lease's end forward once half of it has gone."""
        if not self.held or time.monotonic() - self.renewed < RENEW_AFTER:
            return
        self.renewed = time.monotonic()
        until = time.time() + LEASE
        if _in_memory():
            _memory.setdefault(self.key, {})[self.member] = until
            return
        try:
            async with _client().pipeline(transaction=False) as pipe:
                pipe.zadd(self.key, {self.member: until})
                pipe.expire(self.key, int(LEASE) + 1)
                await pipe.execute()
        except (RedisError, OSError):
            _warn("renew")

    def release(self) -> None:
        """Give the place back, in the background: a socket's close must not wait on
        Redis before its own bookkeeping (a console's goes to the database, and a close
        that ran late found its event loop gone, holding a pooled connection for good)."""
        if not self.held:
            return
        self.held = False
        if _in_memory():
            _memory.get(self.key, {}).pop(self.member, None)
            return
        task = asyncio.get_running_loop().create_task(self._release())
        _releasing.add(task)
        task.add_done_callback(_releasing.discard)

    async def _release(self) -> None:
        try:
            await _client().zrem(self.key, self.member)
        except (RedisError, OSError):
            _warn("release")  # the lease runs out by itself
