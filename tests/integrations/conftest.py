"""A real HTTP receiver on loopback for webhook tests: it answers each request as its plan
says (a status, or a stall longer than the sender's timeout) and keeps what it got."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chat.actors import Actor
from chat.flows import flows
from chat.services import quota_notices
from integrations import connections, kick
from integrations.services.endpoints import endpoint_save
from tests.factories import make_customer, make_site

STALL = 10.0  # seconds a "timeout" answer stalls: well past WEBHOOK_TIMEOUT (2 s, below)


class Receiver:
    """HTTP/1.1 with keep-alive, as real receivers are; ``connections`` counts the TCP
    connections it accepted. A plan entry: a status, "timeout", or "close" (answer 200 and
    close the connection without saying so, as an idle timeout on the receiver does)."""

    def __init__(self) -> None:
        self.plan: list[int | str] = []
        self.requests: list[dict] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    answer = receiver.plan.pop(0) if receiver.plan else 200
                    receiver.requests.append(
                        {
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body.decode(),
                            "answer": answer,
                        }
                    )
                if answer == "timeout":
                    # Past the sender's WEBHOOK_TIMEOUT, until the test ends at most.
                    receiver.released.wait(STALL)
                    answer = 200
                silent_close = answer == "close"
                if silent_close:
                    answer = 200
                payload = json.dumps({"got": answer}).encode()
                try:
                    self.send_response(answer)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the sender gave up waiting
                if silent_close:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _fresh_connections():
    """Each test starts with no kept-alive webhook connection (ids and ports repeat), and
    with a kicker that is not backing off from an earlier test's failed publish."""
    connections.reset()
    kick.forget()
    yield
    connections.reset()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _fast_webhooks(settings):
    # Not shorter: the receiver answers from a thread of this process, and a loaded CI
    # machine (three tiers at once) held a plain 200 past 0.5 s, which turned a delivery
    # into a retry minutes away and failed a test that waited for it.
    settings.PARLEY_INTEGRATIONS = {**settings.PARLEY_INTEGRATIONS, "WEBHOOK_TIMEOUT": 2.0}
    quota_notices.forget_told()
    yield
    quota_notices.forget_told()


@pytest.fixture
def site(db):
    return make_site()


@pytest.fixture
def customer(site):
    return make_customer(site)


@pytest.fixture
def start(customer):
    """Open a conversation as the customer (through the real flow)."""

    def _start():
        conversation, _ = flows.conversation_start(actor=Actor.for_customer(customer))
        return conversation

    return _start


@pytest.fixture
def send(customer):
    counter = iter(range(1, 10_000))

    def _send(conversation, body="hello"):
        message, _ = flows.message_send(
            actor=Actor.for_customer(customer),
            conversation_id=conversation.pk,
            body=body,
            client_msg_id=f"m{next(counter)}",
        )
        return message

    return _send


@pytest.fixture
def endpoint(site, receiver):
    def _make(events=("message.created",), **values):
        return endpoint_save(site=site, **{"url": receiver.url, "events": list(events), **values})

    return _make
