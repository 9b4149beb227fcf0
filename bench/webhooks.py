"""Webhook deliveries per second to a local receiver, and the time integrations add to a
customer's message.

In-process against a real database and Redis (run it with the server's environment): it
makes its own site (``bench-hooks-<pid>``), customers and conversations through the real
flows, then

1. **send**: times ``message_send`` (the customer's send, the same call the widget's socket
   makes) on a site with nobody listening, with a webhook subscribed (the outbox rows are
   written in the send's transaction), with rules listening (``RULES_DISPATCH=celery``:
   the send only writes the event and queues the task), and with the rules run inline
   right after the commit (what a worker spends on them, on the sender's thread here);
2. **rules**: times ``actions.rules.rules_run`` for one event with 1, 5 and 20 rules
   (conditions that hold, a tag action each);
3. **deliver**: delivers every pending event to a receiver in another process on
   ``--port`` (it answers 200 at once), with 1..N worker threads, each running the real
   ``lane_run`` (claim, quota check in Redis, sign, POST, log) on the lanes of a shared
   list: deliveries per second overall, and in one lane (one conversation, in order).

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_hooks \\
        REDIS_URL=redis://127.0.0.1:6379/13 SECRET_KEY=bench WEBHOOK_ALLOW_PRIVATE=true
    .venv/bin/python manage.py migrate
    .venv/bin/python bench/webhooks.py --messages 300 --conversations 100 --workers 1,4,8
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Value
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIX = f"bench-hooks-{os.getpid()}"


def django_setup() -> None:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["REDIS_KEY_PREFIX"] = PREFIX  # our tasks never reach a running worker
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE", "true")
    import django

    django.setup()


def receiver(port: int, count, connections) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):  # once per TCP connection
            super().setup()
            with connections.get_lock():
                connections.value += 1

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with count.get_lock():
                count.value += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def http_line(after_id: int, connections: int) -> str:
    """The POST's own time (each attempt's logged duration: connect, send, answer) and the
    TCP connections the receiver accepted, for the deliveries logged after ``after_id``."""
    from django.db.models import Avg

    from integrations.models import WebhookAttempt

    mean = WebhookAttempt.objects.filter(pk__gt=after_id).aggregate(m=Avg("duration_ms"))["m"]
    return f"POST mean {mean or 0:.2f} ms, {connections} TCP connection(s)"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, ms: list[float], base: float | None = None, cpu: float | None = None) -> str:
    mean = statistics.mean(ms)
    extra = f"  (+{mean - base:.2f} ms over nobody listening)" if base is not None else ""
    cpu_text = f"  cpu {cpu:5.2f} ms" if cpu is not None else ""
    return (
        f"  {name:<34} n={len(ms):<4} mean {mean:6.2f} ms  p50 {pct(ms, 50):6.2f}  "
        f"p99 {pct(ms, 99):6.2f}{cpu_text}{extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="per send scenario")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--workers", default="1,4,8")
    parser.add_argument("--port", type=int, default=8120)
    parser.add_argument("--lane-events", type=int, default=200, help="events in one lane")
    args = parser.parse_args()
    django_setup()

    from django.conf import settings
    from django.utils import timezone

    from actions.rules import rules_run
    from chat.actors import Actor
    from chat.flows import flows
    from chat.models import Conversation, Customer, Site
    from integrations.models import HookEvent, Rule, WebhookAttempt, WebhookDelivery
    from integrations.services import delivery
    from integrations.services.endpoints import endpoint_save, site_hooks_refresh

    count = Value("i", 0)
    opened = Value("i", 0)
    proc = Process(target=receiver, args=(args.port, count, opened), daemon=True)
    proc.start()
    time.sleep(0.5)
    url = f"http://127.0.0.1:{args.port}/hook"
    site = Site.objects.create(name=PREFIX)
    customers = [
        Customer.objects.create(site=site, name=f"c{i}") for i in range(args.conversations)
    ]
    conversations = [flows.conversation_start(actor=Actor.for_customer(c))[0] for c in customers]
    n = iter(range(10**9))

    def send(i: int) -> float:
        c = customers[i % len(customers)]
        started = time.perf_counter()
        flows.message_send(
            actor=Actor.for_customer(c),
            conversation_id=conversations[i % len(conversations)].pk,
            body=f"where is my order {i}?",
            client_msg_id=f"b{next(n)}",
        )
        return (time.perf_counter() - started) * 1000

    endpoint = endpoint_save(
        site=site, url=url, events=["message.created"], enabled=False,
        rate="100000000/min", daily_requests="1000000000/day", daily_bytes="1000000000000/day",
    )  # fmt: skip
    rules = [
        Rule.objects.create(
            site=site,
            name=f"r{i}",
            event="message.created",
            rate="",
            daily_requests="",
            time_budget="",
            enabled=False,
            conditions=[
                {"field": "message.text", "op": "contains", "value": "order"},
                {"field": "message.sender", "op": "eq", "value": "customer"},
            ],
            actions=[{"type": "tag", "tags": [f"t{i}"]}],
        )
        for i in range(5)
    ]
    conf = settings.PARLEY_INTEGRATIONS

    def configure(name: str) -> None:
        endpoint_save(endpoint=endpoint, enabled=name == "a webhook subscribed")
        Rule.objects.filter(site=site).update(enabled=name.startswith("5 rules"))
        site_hooks_refresh(site_id=site.pk)
        conf["RULES_DISPATCH"] = "inline" if name.endswith("inline after commit") else "celery"

    names = [
        "nobody listening",
        "a webhook subscribed",
        "5 rules, queued to a worker",
        "5 rules, run inline after commit",
    ]
    timings: dict[str, list[float]] = {name: [] for name in names}
    # This process's CPU (every thread: the kick and publisher threads count) per message.
    cpu: dict[str, float] = dict.fromkeys(names, 0.0)
    rounds = max(1, args.messages // 50)
    print(
        f"# send path: {rounds * 50} customer messages per scenario, in {rounds} interleaved "
        "rounds of 50 (the machine is shared: rounds spread the noise over all scenarios)"
    )
    for i in range(20):  # warm up
        send(i)
    for _ in range(rounds):
        for name in names:
            configure(name)
            started_cpu = time.process_time()
            timings[name] += [send(i) for i in range(50)]
            cpu[name] += time.process_time() - started_cpu
    base_mean = statistics.mean(timings[names[0]])
    for name in names:
        per = cpu[name] * 1000 / len(timings[name])
        print(line(name, timings[name], None if name == names[0] else base_mean, per))
    configure("nobody listening")

    print("\n# rules_run per event (conditions hold, one tag action each)")
    for wanted in (1, 5, 20):
        while len(rules) < wanted:
            rules.append(
                Rule.objects.create(
                    site=site,
                    name=f"r{len(rules)}",
                    event="message.created",
                    rate="",
                    daily_requests="",
                    time_budget="",
                    conditions=rules[0].conditions,
                    actions=[{"type": "tag", "tags": [f"t{len(rules)}"]}],
                )
            )
        Rule.objects.filter(site=site).update(enabled=False)
        Rule.objects.filter(pk__in=[r.pk for r in rules[:wanted]]).update(enabled=True)
        site_hooks_refresh(site_id=site.pk)
        for i in range(60):
            send(i)
        events = list(
            HookEvent.objects.filter(site=site, rules_pending=True)
            .order_by("id")
            .values_list("id", flat=True)
        )[-50:]
        ms = []
        for event_id in events:
            started = time.perf_counter()
            rules_run(event_id=event_id)
            ms.append((time.perf_counter() - started) * 1000)
        print(line(f"{wanted} rules", ms))
    Rule.objects.filter(site=site).update(enabled=False)
    HookEvent.objects.filter(site=site).update(rules_pending=False)
    conf["RULES_DISPATCH"] = "celery"

    print("\n# deliveries to a local receiver (real lane_run: claim, quota, sign, POST, log)")
    endpoint_save(endpoint=endpoint, enabled=True)
    site_hooks_refresh(site_id=site.pk)
    for i in range(args.lane_events):  # one long lane: a conversation's events, in order
        send(i * len(conversations))
    pending = WebhookDelivery.objects.filter(endpoint=endpoint)
    total = pending.count()
    for workers in [int(w) for w in args.workers.split(",")]:
        pending.update(state="pending", attempts=0, next_attempt_at=timezone.now())
        lanes: queue.SimpleQueue = queue.SimpleQueue()
        for lane in pending.values_list("lane", flat=True).distinct():
            lanes.put(lane)
        before, conns_before = count.value, opened.value
        attempts_after = WebhookAttempt.objects.order_by("-id").values_list("id", flat=True).first()

        def work(lanes=lanes):
            from django.db import connection

            while True:
                try:
                    lane = lanes.get_nowait()
                except queue.Empty:
                    break
                delivery.lane_run(endpoint_id=endpoint.pk, lane=lane, max_sends=10_000)
            connection.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=work) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        sent = count.value - before
        left = pending.exclude(state="delivered").count()
        print(
            f"  {workers} worker thread(s): {sent} deliveries over "
            f"{pending.values('lane').distinct().count()} lanes in {elapsed:.2f} s = "
            f"{sent / elapsed:.0f}/s (undelivered {left} of {total}); "
            + http_line(attempts_after or 0, opened.value - conns_before)
        )
    one_lane = conversations[0].pk
    in_lane = pending.filter(lane=one_lane)
    in_lane.update(state="pending", attempts=0, next_attempt_at=timezone.now())
    before, conns_before = count.value, opened.value
    attempts_after = WebhookAttempt.objects.order_by("-id").values_list("id", flat=True).first()
    started = time.perf_counter()
    delivery.lane_run(endpoint_id=endpoint.pk, lane=one_lane, max_sends=10_000)
    elapsed = time.perf_counter() - started
    sent = count.value - before
    print(
        f"  one lane (one conversation, in order): {sent} in {elapsed:.2f} s = "
        f"{sent / elapsed:.0f}/s; " + http_line(attempts_after or 0, opened.value - conns_before)
    )

    # Leave nothing open for a server's sweepers on this database.
    Conversation.objects.filter(site=site).update(status="resolved")
    HookEvent.objects.filter(site=site).delete()
    endpoint_save(endpoint=endpoint, enabled=False)
    proc.terminate()
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match=f"{PREFIX}*", count=1000):
        client.delete(key)


if __name__ == "__main__":
    main()
