"""Parley behind PgBouncer in transaction mode, with the documented settings
(docs/operations.md "PgBouncer"): Debian's pgbouncer on a port of the test's own in front
of the machine's PostgreSQL, a daphne process whose DATABASE_URL points at it with
DATABASE_POOL_MAX_SIZE=0, ROUTING_PREPARED_STATEMENTS=false and
DATABASE_DISABLE_SERVER_SIDE_CURSORS=true. Sends, routing (offer, accept), the REST API and
the report rollup all go through it, and PgBouncer's own counters say so."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from websockets.asyncio.client import connect

from agents.models import AgentProfile
from chat import services
from chat.models import Message
from config.embedded import die_with_parent
from routing.models import Queue
from supervision.models import ReportDay
from tests.browser.conftest import AsgiServer
from tests.factories import make_agent, make_customer, make_site, session_cookie
from tests.faults.conftest import PORT_BASE, _free_port

pytestmark = [
    pytest.mark.live,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),  # a daphne, a pgbouncer and a rollup on a shared machine
]
PGBOUNCER = "/usr/sbin/pgbouncer"
ROOT = Path(__file__).resolve().parents[2]
WAIT = 20


class PgBouncer:
    """pgbouncer in transaction mode on ``port``, trusting loopback as the machine's
    PostgreSQL does; its admin console answers SHOW commands."""

    def __init__(self, port: int, upstream: dict) -> None:
        self.port, self.upstream = port, upstream
        # Readable by the user it drops to (it refuses to run as root).
        self.dir = Path(tempfile.mkdtemp(prefix="parley-pgbouncer-"))
        self.dir.chmod(0o755)
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        user = self.upstream["USER"] or "postgres"
        (self.dir / "userlist.txt").write_text(f'"{user}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={self.upstream['HOST'] or '127.0.0.1'} port={self.upstream['PORT'] or 5432}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'userlist.txt'}\n"
            f"admin_users = {user}\n"
            # As deploy/pgbouncer/pgbouncer.ini, with a pool this shared machine affords.
            "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 4\n"
            "server_reset_query = DISCARD ALL\nstats_period = 1\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        for path in self.dir.iterdir():
            path.chmod(0o644)
        args = [PGBOUNCER, str(self.dir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            args[1:1] = ["-u", "postgres"]
        self.proc = subprocess.Popen(args, stdout=(self.dir / "log").open("wb"),
                                     stderr=subprocess.STDOUT, preexec_fn=die_with_parent)  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            try:
                self.show("VERSION")
                return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise AssertionError(f"pgbouncer did not answer:\n{self.log()}")

    def show(self, what: str) -> list[dict]:
        user = self.upstream["USER"] or "postgres"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} dbname=pgbouncer user={user}",
                             autocommit=True, prepare_threshold=None) as admin:  # fmt: skip
            cursor = admin.execute(f"SHOW {what}")
            names = [c.name for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def url(self, dbname: str) -> str:
        return f"postgres://{self.upstream['USER'] or 'postgres'}@127.0.0.1:{self.port}/{dbname}"

    def log(self) -> str:
        return (self.dir / "log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pgbouncer(transactional_db):
    if not Path(PGBOUNCER).exists():
        pytest.skip("pgbouncer is not installed (make install-test, or apt-get install pgbouncer)")
    if connection.vendor != "postgresql":
        pytest.skip("PgBouncer stands in front of PostgreSQL")
    bouncer = PgBouncer(_free_port(PORT_BASE + 70), connection.settings_dict)
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()  # its server connections go before the test database is dropped


@pytest.fixture
def server_behind_pgbouncer(pgbouncer, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": pgbouncer.url(connection.settings_dict["NAME"]),
        # docs/operations.md: PgBouncer is the pool, and 1.18 keeps no prepared statements.
        "DATABASE_POOL_MAX_SIZE": "0",
        "CONN_MAX_AGE": "0",
        "ROUTING_PREPARED_STATEMENTS": "false",
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS": "true",
        "DEBUG": "false",
        "PARLEY_DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "WARNING",
        "CHANNEL_LAYER_BACKEND": "core",  # as the browser tier: this run's Redis db only
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = AsgiServer(env, tmp_path / "daphne.log")
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if "Traceback" in server.log():
            print(server.log())


@database_sync_to_async
def _floor():
    queue = Queue.objects.create(name="Support", limit_mode="none")
    site = make_site(default_queue=queue)
    agent = make_agent()
    AgentProfile.objects.get(user=agent).queues.add(queue)
    token = services.visitor_token_issue(customer=make_customer(site=site))
    return token, session_cookie(agent)


async def _next(ws, *types: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert frame["type"] != "error", frame
        if frame["type"] in types:
            return frame


def _xacts(bouncer: PgBouncer, dbname: str) -> int:
    return sum(
        row["total_xact_count"] for row in bouncer.show("STATS") if row["database"] == dbname
    )


def test_sends_routing_and_the_api_work_through_pgbouncer_in_transaction_mode(
    pgbouncer, server_behind_pgbouncer
):
    server, dbname = server_behind_pgbouncer, connection.settings_dict["NAME"]
    pools = [row for row in pgbouncer.show("POOLS") if row["database"] == dbname]
    assert pools and pools[0]["pool_mode"] == "transaction"
    before = _xacts(pgbouncer, dbname)
    ws_url = server.url.replace("http://", "ws://")

    async def scenario() -> int:
        token, session = await _floor()
        console = await connect(f"{ws_url}/ws/agent/", additional_headers={
            "Cookie": f"sessionid={session}", "Origin": server.url})  # fmt: skip
        await _next(console, "hello")
        widget = await connect(f"{ws_url}/ws/widget/?token={token}")
        await _next(widget, "hello")
        await widget.send(json.dumps({"type": "conversation.start", "id": "s"}))
        conversation = (await _next(widget, "conversation.started"))["conversation"]["id"]
        offer = (await _next(console, "reservation.offered"))["reservation"]
        assert offer["conversation"]["id"] == conversation
        await console.send(json.dumps({"type": "reservation.accept", "id": "a",
                                       "reservation": offer["id"]}))  # fmt: skip
        assert (await _next(console, "ack"))["conversation"] == conversation
        for n in range(5):  # both ways, several transactions each
            for ws, other, who in ((widget, console, "c"), (console, widget, "a")):
                body = f"{who}{n}"
                await ws.send(json.dumps({"type": "message.send", "id": body, "body": body,
                                          "conversation": conversation,
                                          "client_msg_id": body}))  # fmt: skip
                await _next(ws, "message.accepted")
                while (await _next(other, "message.new"))["message"]["body"] != body:
                    pass
        await widget.close()
        await console.close()
        return conversation

    conversation = asyncio.run(scenario())
    request = urllib.request.Request(
        f"{server.url}/api/v1/conversations/{conversation}/messages/?after_seq=0",
        headers={"Authorization": f"Visitor {_token_of(conversation)}"},
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        listed = json.loads(response.read())
    assert listed["has_more"] is False
    bodies = [m["body"] for m in listed["messages"] if m["kind"] == "text"]
    assert bodies == [f"{who}{n}" for n in range(5) for who in "ca"]
    stored = Message.objects.filter(conversation_id=conversation, kind="text")
    assert stored.count() == 10
    # Every database call of the server crossed PgBouncer, as whole transactions.
    assert _xacts(pgbouncer, dbname) - before >= 20
    assert "prepared statement" not in server.log() and "Traceback" not in server.log()
    # Beat's report rollup (it iterates over the day's rows) through PgBouncer too.
    rollup = subprocess.run(
        [sys.executable, "manage.py", "reports_rollup", "--days", "1"], cwd=ROOT,
        env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rollup.returncode == 0, rollup.stdout + rollup.stderr
    queue = Queue.objects.get(name="Support")
    assert ReportDay.objects.filter(queue_id=queue.pk).exists()


def _token_of(conversation: int) -> str:
    customer = Message.objects.filter(conversation_id=conversation).first().conversation.customer
    return services.visitor_token_issue(customer=customer)
