"""Churning chat traffic for the soak and chaos benches (bench/soak.py, bench/chaos.py).

Visitors come, start a conversation, wait for the router to give it to an agent, exchange
messages with that agent, resolve and leave; new visitors replace them. Agents keep a
console socket open (heartbeats), accept every offer at once, answer each customer message
and reconnect when their socket drops. Both sides behave as Parley's client does: a
`client_msg_id` per message, resent (same id) until `message.accepted`, seqs applied in
order, a gap or a reconnect answered with `resume` after the last seq held.

The ledger keeps every message sent and every seq received, so the end can count lost,
duplicated and out-of-order messages from the database and from what each side saw.
Loopback only; every loop is bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

HEARTBEAT = 20.0
# Parley's client resends an unanswered frame after every hello and once its answer is two
# heartbeats late (static/parley/client/outbox.js), not sooner: a busy server is not a
# lost frame, and resends only fill the socket's inbox.
ACK_TIMEOUT = 2 * HEARTBEAT


def now() -> float:
    return time.monotonic()


_background: set[asyncio.Task] = set()


def spawn(coro) -> asyncio.Task:
    """A task kept referenced until it ends (the loop holds only weak references)."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


# --- the floor: a site, a queue and its agents (in-process, the server's database) ---------
@dataclass
class AgentCred:
    user_id: int
    username: str
    session_key: str


def floor_prepare(prefix: str, agents: int, capacity: int) -> tuple[str, list[AgentCred]]:
    """A site whose conversations go straight to a queue (no bot flow) served by `agents`
    agents of `capacity` chats each, with a fresh session per agent. Reused between runs."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )

    from agents.models import AgentProfile
    from chat.models import Site
    from routing.models import Queue

    queue, _ = Queue.objects.get_or_create(name=prefix)
    Queue.objects.filter(pk=queue.pk).update(
        required_skills=[], language="", limit_mode=Queue.LimitMode.NONE, is_active=True
    )
    site, _ = Site.objects.get_or_create(key=prefix, defaults={"name": prefix})
    Site.objects.filter(pk=site.pk).update(default_queue=queue)
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    User = get_user_model()
    creds = []
    for i in range(agents):
        user, created = User.objects.get_or_create(
            username=f"{prefix}-agent-{i:03d}", defaults={"first_name": f"Agent {i}"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        profile, _ = AgentProfile.objects.get_or_create(user=user)
        AgentProfile.objects.filter(pk=profile.pk).update(
            display_name=f"Agent {i}", languages=["en"], skills=[], max_concurrent_chats=capacity
        )
        profile.queues.add(queue)
        store = store_class()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        creds.append(AgentCred(user.pk, user.username, store.session_key))
    return prefix, creds


def visitor_make(site_key: str, origin: str, name: str) -> str:
    from django.db import connection

    from chat import services

    try:
        return services.visitor_session_create(
            site_key=site_key, origin=origin, name=name, locale="en"
        )[1]
    finally:
        connection.close()  # back to the pool: callers run this in any thread


# --- the ledger --------------------------------------------------------------------------
@dataclass
class Sent:
    cmid: str
    conversation: int
    role: str  # customer or agent
    order: int  # this sender's n-th message in the conversation
    sent_at: float
    accepted_seq: int | None = None
    delivered: bool = False  # the other side saw it (push or resume)


@dataclass
class Ledger:
    sent: dict[str, Sent] = field(default_factory=dict)
    conversations: set[int] = field(default_factory=set)
    routed_at: dict[int, float] = field(default_factory=dict)  # conversation -> seconds waited
    started_at: dict[int, float] = field(default_factory=dict)
    resolved: set[int] = field(default_factory=set)
    reordered_pushes: int = 0
    duplicate_deliveries: int = 0  # a seq delivered twice, dropped by seq (not a loss)
    resumes: int = 0
    reconnects: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    offers: int = 0
    offers_accepted_first: int = 0
    offers_failed: Counter = field(default_factory=Counter)
    offers_unanswered: int = 0  # the socket dropped before the accept's answer: not healthy
    offer_log: list[tuple[float, str, str]] = field(default_factory=list)  # (t, agent, outcome)
    offers_ended: Counter = field(default_factory=Counter)  # expired, revoked (frames)
    offers_seen: set[int] = field(default_factory=set)  # reservation ids that reached a console
    set_away: int = 0  # agents set away for missed offers (they set themselves online again)
    max_load: dict[str, int] = field(default_factory=dict)
    capacity: int = 0
    visitors_done: int = 0
    visitors_failed: Counter = field(default_factory=Counter)
    retries: int = 0

    def on_seq(self, view: ConvView, message: dict, *, pushed: bool) -> None:
        seq = message["seq"]
        if seq in view.seen:
            self.duplicate_deliveries += 1
            return
        if pushed and seq < view.max_seen:
            self.reordered_pushes += 1
        view.seen.add(seq)
        view.max_seen = max(view.max_seen, seq)
        while view.last + 1 in view.seen:
            view.last += 1
        cmid = message.get("client_msg_id")
        rec = self.sent.get(cmid) if cmid else None
        if rec is not None and rec.role != view.role:
            rec.delivered = True


@dataclass
class ConvView:
    role: str
    last: int = 0  # contiguous seqs held
    max_seen: int = 0
    seen: set[int] = field(default_factory=set)
    replied: set[str] = field(default_factory=set)  # agents: customer cmids answered
    open: bool = True


class Disconnected(Exception):
    pass


# --- one client socket that reconnects ----------------------------------------------------
class Conn:
    """A socket with request/answer by `id`, pushes to `on_push`, and reconnects (Parley's
    client back-off: jittered, [cap/2, cap], cap = 0.5 s x 2^n up to 8 s here)."""

    def __init__(self, url: str, origin: str, headers: dict[str, str], ledger: Ledger, role: str):
        self.url, self.origin, self.headers = url, origin, headers
        self.ledger, self.role = ledger, role
        self.ws = None
        self.pending: dict[str, asyncio.Future] = {}
        self.up = asyncio.Event()
        self.closing = False
        self.ids = 0
        self.on_push = None
        self.on_hello = None
        self.push_ok = True
        self.task: asyncio.Task | None = None
        self.connects = 0

    async def start(self, deadline: float) -> None:
        await self._connect(deadline)
        self.task = spawn(self._run(deadline))

    async def _connect(self, deadline: float) -> None:
        from websockets.asyncio.client import connect

        attempt = 0
        while True:
            try:
                ws = await connect(
                    self.url, origin=self.origin, additional_headers=self.headers, proxy=None,
                    open_timeout=15, ping_interval=None, max_queue=None, close_timeout=2,
                )  # fmt: skip
                hello = json.loads(await asyncio.wait_for(ws.recv(), 15))
                while hello.get("type") != "hello":
                    hello = json.loads(await asyncio.wait_for(ws.recv(), 15))
                self.ws = ws
                self.connects += 1
                self.push_ok = bool(hello.get("push", True))
                if self.connects > 1:
                    self.ledger.reconnects[self.role] += 1
                if self.on_hello is not None:
                    self.on_hello(hello)
                self.up.set()
                return
            except Exception as exc:
                status = getattr(getattr(exc, "response", None), "status_code", "")
                self.ledger.errors[f"{self.role} connect: {type(exc).__name__} {status}"] += 1
                if self.closing or now() > deadline:
                    raise Disconnected("gave up connecting") from exc
                cap = min(8.0, 0.5 * 2**attempt)
                attempt += 1
                await asyncio.sleep(cap / 2 + random.random() * cap / 2)

    async def _run(self, deadline: float) -> None:
        while not self.closing:
            ws = self.ws
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    ref = frame.get("ref")
                    if frame["type"] == "pong" and self.on_push is not None:
                        self.on_push(frame)  # its last_seq heals a lost push, as the client's
                    if ref is not None and ref in self.pending:
                        fut = self.pending.pop(ref)
                        if not fut.done():
                            fut.set_result(frame)
                        continue
                    if frame["type"] == "pong" and "push" in frame:
                        self.push_ok = bool(frame["push"])
                    if self.on_push is not None:
                        self.on_push(frame)
            except Exception:
                pass
            self.up.clear()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(Disconnected())
            self.pending.clear()
            if self.closing:
                return
            try:
                await self._connect(deadline)
            except Disconnected:
                return
            if self.on_reconnect is not None:
                spawn(self.on_reconnect())

    on_reconnect = None

    async def request(self, frame: dict[str, Any], wait: float = 15.0) -> dict:
        if not self.up.is_set():
            raise Disconnected()
        self.ids += 1
        rid = f"{self.role[0]}{self.ids}"
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = fut
        try:
            await self.ws.send(json.dumps({**frame, "id": rid}))
            return await asyncio.wait_for(fut, wait)
        except TimeoutError:
            self.pending.pop(rid, None)
            raise
        except Disconnected:
            raise
        except Exception as exc:
            self.pending.pop(rid, None)
            raise Disconnected() from exc

    async def send(self, frame: dict[str, Any]) -> None:
        if self.up.is_set():
            with contextlib.suppress(Exception):
                await self.ws.send(json.dumps(frame))

    async def wait_up(self, wait: float) -> bool:
        try:
            await asyncio.wait_for(self.up.wait(), wait)
            return True
        except TimeoutError:
            return False

    async def heartbeat(self) -> None:
        await asyncio.sleep(random.random() * HEARTBEAT)
        while not self.closing:
            # Without pushes (Redis away), the client pings every 5 s to learn when they return.
            await self.send({"type": "ping", "t": int(time.time() * 1000)})
            await asyncio.sleep(HEARTBEAT if self.push_ok else 5.0)

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            try:
                await asyncio.wait_for(self.task, 5)
            except Exception:
                self.task.cancel()

    def drop(self) -> None:
        """Cut the TCP connection under the socket (a network fault): no close frame."""
        ws = self.ws
        if ws is not None and self.up.is_set():
            with contextlib.suppress(Exception):
                ws.transport.abort()


async def resume_all(conn: Conn, ledger: Ledger, conv: int, view: ConvView) -> None:
    """`resume` after the last contiguous seq, paging while `has_more`."""
    for _ in range(50):
        batch = await conn.request({"type": "resume", "conversation": conv, "after_seq": view.last})
        ledger.resumes += 1
        if batch.get("type") != "messages.batch":
            ledger.errors[f"{conn.role} resume: {batch.get('code')}"] += 1
            return
        for m in batch["messages"]:
            ledger.on_seq(view, m, pushed=False)
        if not batch.get("has_more"):
            return


# --- an agent -----------------------------------------------------------------------------
class Agent:
    def __init__(self, cred: AgentCred, ws_base: str, origin: str, cookie: str, ledger: Ledger):
        self.cred, self.ledger = cred, ledger
        self.conn = Conn(
            f"{ws_base}/ws/agent/", origin, {"Cookie": f"{cookie}={cred.session_key}"}, ledger,
            "agent",
        )  # fmt: skip
        self.convs: dict[int, ConvView] = {}
        self.replies: dict[str, Sent] = {}
        self.conn.on_push = self.on_push
        self.conn.on_reconnect = self.on_reconnect
        self.conn.on_hello = self.on_hello
        self.tasks: list[asyncio.Task] = []
        self.returning = False

    def on_hello(self, hello: dict) -> None:
        self.on_push({"type": "agent.presence", "presence": hello.get("presence") or {}})
        # A reconnecting console gets its open offers back: answer them.
        for offer in hello.get("offers", []):
            if offer.get("state") == "offered":
                spawn(self.accept(offer))
        # An accept whose answer was lost with the socket may have won: the snapshot of the
        # agent's own conversations says so.
        for c in hello.get("conversations", []):
            mine = (c.get("assignee") or {}).get("id") == self.cred.user_id
            if mine and c.get("status") == "assigned" and c["id"] not in self.convs:
                self.convs[c["id"]] = ConvView("agent")

    async def start(self, deadline: float) -> None:
        await self.conn.start(deadline)
        self.tasks = [spawn(self.conn.heartbeat()),
                      spawn(self.resender())]  # fmt: skip

    def load(self) -> int:
        return sum(1 for v in self.convs.values() if v.open)

    def on_push(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "pong":
            # Parley's client rule: a conversation whose last_seq is past what is held has
            # lost a push (a Redis outage no ping saw): resume it.
            for conv, top in (frame.get("last_seq") or {}).items():
                view = self.convs.get(int(conv))
                if view is not None and view.open and top > view.last:
                    spawn(self.catch_up(int(conv), view))
        elif kind == "reservation.offered":
            spawn(self.accept(frame["reservation"]))
        elif kind in ("reservation.expired", "reservation.revoked"):
            self.ledger.offers_ended[kind.split(".")[1]] += 1
        elif kind == "agent.presence":
            presence = frame["presence"]
            mine = presence.get("agent") in (None, self.cred.user_id)
            if mine and presence.get("status") == "away" and not self.returning:
                # Set away for missed offers (or given that status back with a reconnected
                # console): as a person would, they read the message and come back online.
                self.ledger.set_away += 1
                self.returning = True
                spawn(self.back_online())
        elif kind == "message.new":
            m = frame["message"]
            view = self.convs.get(m["conversation"])
            if view is not None:
                self.ledger.on_seq(view, m, pushed=True)
                self.answer(m["conversation"], view, [m])
                if view.max_seen > view.last:
                    spawn(self.catch_up(m["conversation"], view))
        elif kind == "conversation.updated":
            c = frame["conversation"]
            view = self.convs.get(c["id"])
            if view is not None and c["status"] in ("resolved", "abandoned"):
                view.open = False
            elif view is not None and (c.get("assignee") or {}).get("id") not in (
                None, self.cred.user_id,
            ):  # fmt: skip
                view.open = False  # given to someone else (our console was lost too long)

    async def back_online(self) -> None:
        try:
            await asyncio.sleep(2.0)
            with contextlib.suppress(Disconnected, TimeoutError):
                await self.conn.request({"type": "presence.set", "status": "online"})
        finally:
            self.returning = False

    async def accept(self, reservation: dict) -> None:
        if reservation["id"] in self.ledger.offers_seen:
            return  # from hello and from the push: one answer
        self.ledger.offers_seen.add(reservation["id"])
        self.ledger.offers += 1
        t = now()
        try:
            reply = await self.conn.request(
                {"type": "reservation.accept", "reservation": reservation["id"]}, wait=20
            )
        except (Disconnected, TimeoutError):
            self.ledger.offers_unanswered += 1
            self.ledger.offer_log.append((t, self.cred.username, "unanswered"))
            return
        if reply.get("type") != "ack":
            code = reply.get("code", reply.get("type"))
            self.ledger.offers_failed[code] += 1
            self.ledger.offer_log.append((t, self.cred.username, code))
            return
        self.ledger.offer_log.append((t, self.cred.username, "ok"))
        self.ledger.offers_accepted_first += 1
        conv = reservation["conversation"]["id"]
        view = self.convs.setdefault(conv, ConvView("agent"))
        view.open = True
        load = self.load()
        if load > self.ledger.max_load.get(self.cred.username, 0):
            self.ledger.max_load[self.cred.username] = load
        await self.catch_up(conv, view)

    async def catch_up(self, conv: int, view: ConvView) -> None:
        try:
            await resume_all(self.conn, self.ledger, conv, view)
            self.answer_missing(conv, view)
        except (Disconnected, TimeoutError):
            pass

    def answer_missing(self, conv: int, view: ConvView) -> None:
        # Every customer message seen and not answered yet (by this agent or one who had
        # the conversation before): the reply's id is derived from the question's, so an
        # answer resent after a reconnect is deduplicated by the server.
        for cmid, rec in list(self.ledger.sent.items()):
            if rec.conversation == conv and rec.role == "customer" and rec.delivered:
                self.reply(conv, view, cmid)

    def answer(self, conv: int, view: ConvView, messages: list[dict]) -> None:
        for m in messages:
            if (m.get("sender") or {}).get("role") == "customer" and m.get("kind") == "text":
                cmid = m.get("client_msg_id")
                if cmid:
                    self.reply(conv, view, cmid)

    def reply(self, conv: int, view: ConvView, cmid: str) -> None:
        rid = f"re-{cmid}"
        if cmid in view.replied or not view.open or rid in self.ledger.sent:
            return
        view.replied.add(cmid)
        order = sum(1 for r in self.replies.values() if r.conversation == conv) + 1
        rec = Sent(rid, conv, "agent", order, now())
        self.ledger.sent[rid] = rec
        self.replies[rid] = rec
        spawn(self.send(rec))

    async def send(self, rec: Sent) -> None:
        try:
            reply = await self.conn.request(
                {"type": "message.send", "conversation": rec.conversation,
                 "client_msg_id": rec.cmid, "body": f"answer {rec.cmid}"},
                wait=ACK_TIMEOUT,
            )  # fmt: skip
        except (Disconnected, TimeoutError):
            return  # the resender sends it again
        if reply.get("type") == "message.accepted":
            rec.accepted_seq = reply["seq"]
        elif reply.get("code") in ("conversation_closed", "forbidden", "not_found"):
            # Resolved first, or no longer ours (our console was lost past the grace and
            # the chat went to another agent): withdrawn, whoever holds it now answers.
            self.replies.pop(rec.cmid, None)
            self.ledger.sent.pop(rec.cmid, None)
        else:
            self.ledger.errors[f"agent send: {reply.get('code')}"] += 1

    async def resender(self) -> None:
        while not self.conn.closing:
            await asyncio.sleep(5.0)
            for rec in list(self.replies.values()):
                if rec.accepted_seq is None and now() - rec.sent_at > ACK_TIMEOUT:
                    rec.sent_at = now()
                    self.ledger.retries += 1
                    spawn(self.send(rec))
            for cid in [c for c, v in self.convs.items() if not v.open]:
                del self.convs[cid]

    async def on_reconnect(self) -> None:
        for rec in list(self.replies.values()):
            if rec.accepted_seq is None:  # after every hello, as the client's outbox does
                rec.sent_at = now()
                spawn(self.send(rec))
        for conv, view in list(self.convs.items()):
            if view.open:
                await self.catch_up(conv, view)

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await self.conn.close()


# --- a visitor ----------------------------------------------------------------------------
class Visitor:
    """One visitor's whole visit; `run` returns when they leave (or gives up at `deadline`)."""

    def __init__(self, token: str, ws_base: str, origin: str, ledger: Ledger, messages: int,
                 think: tuple[float, float]):  # fmt: skip
        self.ledger, self.messages, self.think = ledger, messages, think
        self.conn = Conn(f"{ws_base}/ws/widget/?token={token}", origin, {}, ledger, "customer")
        self.conn.on_push = self.on_push
        self.conn.on_reconnect = self.on_reconnect
        self.conv = 0
        self.view = ConvView("customer")
        self.assigned = asyncio.Event()
        self.news = asyncio.Event()

    def on_push(self, frame: dict) -> None:
        kind = frame["type"]
        if kind == "pong":
            top = (frame.get("last_seq") or {}).get(str(self.conv), 0)
            if self.conv and top > self.view.last:
                spawn(self.on_reconnect())  # a lost push: resume, as the client does
        elif kind == "message.new" and frame["message"]["conversation"] == self.conv:
            self.ledger.on_seq(self.view, frame["message"], pushed=True)
            self.news.set()
        elif kind == "conversation.updated" and frame["conversation"]["id"] == self.conv:
            if frame["conversation"]["status"] == "assigned":
                self.assigned.set()
            self.news.set()

    async def on_reconnect(self) -> None:
        if self.conv:
            try:
                await resume_all(self.conn, self.ledger, self.conv, self.view)
                self.news.set()
            except (Disconnected, TimeoutError):
                pass

    async def retrying(self, frame: dict, want: str, deadline: float) -> dict:
        while now() < deadline:
            if not await self.conn.wait_up(max(0.1, deadline - now())):
                break
            try:
                reply = await self.conn.request(frame, wait=ACK_TIMEOUT)
            except (Disconnected, TimeoutError):
                self.ledger.retries += 1
                continue
            if reply.get("type") == want:
                return reply
            self.ledger.errors[f"customer {frame['type']}: {reply.get('code')}"] += 1
            if reply.get("code") in ("rate_limited", "internal"):
                await asyncio.sleep(1.0)
                continue
            raise RuntimeError(f"{frame['type']}: {reply}")
        raise TimeoutError(f"{frame['type']} unanswered")

    async def wait_for(self, cond, deadline: float) -> bool:
        """Until cond() holds; resumes every 5 s meanwhile (a push may be lost in a fault)."""
        while not cond():
            if now() > deadline:
                return False
            self.news.clear()
            try:
                await asyncio.wait_for(self.news.wait(), 5.0)
            except TimeoutError:
                if self.conn.up.is_set():
                    with contextlib.suppress(Disconnected, TimeoutError, asyncio.TimeoutError):
                        await resume_all(self.conn, self.ledger, self.conv, self.view)
        return True

    async def run(self, deadline: float, patience: float) -> None:
        await self.conn.start(deadline)
        beat = spawn(self.conn.heartbeat())
        try:
            started = await self.retrying(
                {"type": "conversation.start", "language": "en", "subject": "soak"},
                "conversation.started", deadline,
            )  # fmt: skip
            c = started["conversation"]
            self.conv = c["id"]
            t0 = now()
            self.ledger.conversations.add(self.conv)
            self.ledger.started_at[self.conv] = t0
            if c["status"] == "assigned":
                self.assigned.set()
            cut = min(deadline, now() + patience)

            def routed() -> bool:
                return self.assigned.is_set()

            if not await self.wait_for_assigned(cut):
                self.ledger.visitors_failed["never assigned"] += 1
                return
            self.ledger.routed_at[self.conv] = now() - t0
            for k in range(1, self.messages + 1):
                cmid = os.urandom(8).hex()
                rec = Sent(cmid, self.conv, "customer", k, now())
                self.ledger.sent[cmid] = rec
                reply = await self.retrying(
                    {"type": "message.send", "conversation": self.conv, "client_msg_id": cmid,
                     "body": f"question {k} {cmid}"},
                    "message.accepted", deadline,
                )  # fmt: skip
                rec.accepted_seq = reply["seq"]
                answer = f"re-{cmid}"
                if not await self.wait_for(
                    lambda a=answer: a in self.ledger.sent
                    and self.ledger.sent[a].delivered,
                    min(deadline, now() + patience),
                ):  # fmt: skip
                    self.ledger.visitors_failed["no answer"] += 1
                    return
                await asyncio.sleep(random.uniform(*self.think))
            await self.retrying(
                {"type": "conversation.resolve", "conversation": self.conv}, "ack", deadline
            )
            self.ledger.resolved.add(self.conv)
            self.ledger.visitors_done += 1
        except Exception as exc:
            self.ledger.visitors_failed[type(exc).__name__] += 1
        finally:
            beat.cancel()
            await self.conn.close()

    async def wait_for_assigned(self, cut: float) -> bool:
        async def check() -> None:
            # The snapshot may be missed in a fault: resume brings the conversation's state.
            while not self.assigned.is_set():
                await asyncio.sleep(5.0)
                if self.conn.up.is_set():
                    try:
                        batch = await self.conn.request(
                            {
                                "type": "resume",
                                "conversation": self.conv,
                                "after_seq": self.view.last,
                            }
                        )
                        if (batch.get("conversation") or {}).get("status") == "assigned":
                            self.assigned.set()
                    except (Disconnected, TimeoutError):
                        pass

        poller = spawn(check())
        try:
            await asyncio.wait_for(self.assigned.wait(), max(0.1, cut - now()))
            return True
        except TimeoutError:
            return False
        finally:
            poller.cancel()
