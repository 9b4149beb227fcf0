"""Django's PostgreSQL backend, with the psycopg pool's check of a connection it hands out
made without a round trip.

With ``CONN_HEALTH_CHECKS`` Django gives its pool psycopg_pool's ``check_connection``,
which sends an empty query and waits for the answer at every borrowing. A socket borrows a
connection for every database call (chat.dbcalls), so a widget's connect paid a round
trip more per call: 37 % of the database threads' samples in a reconnect storm (py-spy,
docs/benchmarks.md "What a reconnect costs").

A pooled connection that went bad while idle did so because the server (or a pooler, or a
firewall with a reset) closed it: PostgreSQL's restart, ``pg_terminate_backend``,
``idle_session_timeout``. Each of those leaves the socket readable (an error message, then
end of file), so a poll with no timeout tells a dead idle connection from a live one for
the cost of a system call. Only then is the real check run, and it fails, so the pool
drops the connection and hands out another, as before. A healthy idle connection has
nothing to read: Parley's connections LISTEN to nothing.

What this cannot see is a peer that vanished without a word (a cable cut, no reset): the
round trip would not have seen it sooner either, it would have waited on TCP's timeout.

Django builds the pool itself and always passes it a ``check`` (its own with
``CONN_HEALTH_CHECKS``, else none), so the pool's options cannot carry another: the
wrapper below swaps the check on the pool Django made, before the pool opens.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import OperationalError, pq
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

_IDLE = pq.TransactionStatus.IDLE

# psycopg_pool retries a failed connect with a doubling delay (1, 2, 4, … s) for its whole
# reconnect_timeout (5 minutes): after a 40 s database outage its next attempt came 23 s
# after the database was back, and every request failed meanwhile (a fault probe). Capped,
# a pool notices within RECONNECT_DELAY_MAX of the return; an attempt every 2 s during an
# outage costs nothing worth saving. The class is the pool's own (pool.py looks it up in
# base.py at each attempt), so the cap applies to the reconnects and to getconn's re-checks.
RECONNECT_DELAY_MAX = 2.0
_update_delay = AttemptWithBackoff.update_delay


def _capped_update_delay(self: AttemptWithBackoff, now: float) -> None:
    _update_delay(self, now)
    self.delay = min(self.delay, RECONNECT_DELAY_MAX)


AttemptWithBackoff.update_delay = _capped_update_delay


def check_connection(conn) -> None:
    """Raise if ``conn`` is not fit to hand out (psycopg_pool's ``check`` callback)."""
    if conn.closed or conn.broken:
        raise OperationalError("the connection is closed")
    if conn.info.transaction_status != _IDLE or _has_input(conn.fileno()):
        ConnectionPool.check_connection(conn)


def _has_input(fd: int) -> bool:
    # poll, not select: a process with thousands of sockets has descriptors past select's
    # FD_SETSIZE (1024).
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django's pool attribute is read at each connect: the swap costs a comparison.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = check_connection
        return pool
