"""Delivery latency added by the language pipeline, and its throughput.

What it measures, in one run, on this machine:

1. **Delivery latency**: from just before ``message_send`` (the service the socket and
   REST call) to the recipient's ``message.new`` arriving on the channel layer (Redis
   pub/sub, the production layer), for a customer writing to an agent. Blocks with the
   pipeline **off** (``PIPELINE_ENABLED`` false: no moderation, nothing queued) and **on**
   (word-list moderation in-process, the Celery task queued after commit, a real worker
   detecting and translating meanwhile) alternate, so both see the same machine. It
   prints p50/p99 of each and the difference (the goal: p99 added <= 30 ms).
2. **Throughput**: N messages sent back to back with the pipeline on; messages/s
   accepted, and messages/s fully processed (the translation's ``message.updated``
   received), with one Celery worker and a local LibreTranslate stand-in (stdlib HTTP
   server on 127.0.0.1 answering at once), so the figure is the pipeline's, not an
   engine's.

It creates its own database (``parley_bench_pipeline`` on the local PostgreSQL unless
``DATABASE_URL`` says otherwise), migrates it, and starts and stops its own Celery worker.
Only 127.0.0.1 is contacted. Run::

    .venv/bin/python bench/pipeline_latency.py --messages 400 --blocks 4 --throughput 300
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/parley_bench_pipeline"
MAX_MESSAGES = 20_000  # bounds: a typo must not turn this into a flood
now = time.perf_counter


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- a LibreTranslate stand-in --------------------------------------------------------------
class Stub:
    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                out = json.dumps({"translatedText": f"<{body['target']}> {body['q']}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# --- setup --------------------------------------------------------------------------------------
def environment(stub_url: str) -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    os.environ.setdefault("SECRET_KEY", "bench-pipeline-secret-key-0123456789-abcdefghij")
    os.environ.setdefault("CHANNEL_LAYER_PREFIX", "bench-pipeline")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["TRANSLATION_ENGINE"] = "libretranslate"
    os.environ["LIBRETRANSLATE_URL"] = stub_url
    host = os.environ["DATABASE_URL"].split("@")[-1].split("/")[0].split(":")[0]
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("this bench only talks to 127.0.0.1")


def create_database() -> None:
    import psycopg

    url = os.environ["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def start_worker(log, nice: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["nice", "-n", str(nice), sys.executable, "-m", "celery", "-A", "config", "worker", "-P", "solo", "-l", "warning",
         "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-n", f"bench-pipeline-{os.getpid()}@%h"],
        cwd=REPO, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def make_pairs(n: int):
    """n conversations, each a French customer and an English agent who took it."""
    from django.contrib.auth import get_user_model

    from actions import conversations as services
    from agents.models import AgentProfile
    from chat.actors import Actor
    from chat.models import Customer, Participant, Site
    from routing.services import conversation_assign

    site = Site.objects.create(name=f"bench {time.time()}")
    pairs = []
    for i in range(n):
        customer = Customer.objects.create(site=site, name=f"bench {i}", locale="fr")
        conversation, _ = services.conversation_start(actor=Actor.for_customer(customer))
        user = get_user_model().objects.create_user(f"bench-pl-{time.time_ns()}-{i}")
        AgentProfile.objects.create(user=user, languages=["en"], max_concurrent_chats=100)
        conversation_assign(actor=Actor.for_agent(user), conversation_id=conversation.pk)
        assert Participant.objects.filter(conversation=conversation, user=user).exists()
        pairs.append((customer, user, conversation.pk))
    return pairs


TEXTS = [
    "Bonjour, je n'ai toujours pas reçu ma commande numéro {i}, pouvez-vous vérifier ?",
    "La perceuse est arrivée cassée, c'est vraiment de la merde, je veux un remboursement",
    "Merci beaucoup pour votre aide, bonne journée",
    "Est-ce que je peux changer l'adresse de livraison pour la commande {i} ?",
]


# --- measurement --------------------------------------------------------------------------------
async def run(args) -> dict:
    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer
    from django.conf import settings
    from django.test import override_settings

    from actions import conversations as services
    from chat.actors import Actor
    from chat.recipients import user_group

    layer = get_channel_layer()
    pairs = await database_sync_to_async(make_pairs)(args.pairs)
    # One reader task per channel, never cancelled: channels_redis's pub/sub layer drops a
    # channel's subscription when a receive() is cancelled (it assumes the consumer left),
    # so timeouts are taken on our own queues instead.
    inbox: dict[str, asyncio.Queue] = {}
    readers = []

    async def pump(channel: str, queue: asyncio.Queue) -> None:
        while True:
            queue.put_nowait(await layer.receive(channel))

    for _customer, user, _cid in pairs:
        channel = await layer.new_channel()
        await layer.group_add(user_group(user.pk), channel)
        inbox[user_group(user.pk)] = asyncio.Queue()
        readers.append(asyncio.create_task(pump(channel, inbox[user_group(user.pk)])))
    on = dict(settings.PARLEY_PIPELINE, ENABLED=True)
    off = dict(settings.PARLEY_PIPELINE, ENABLED=False)

    async def deliver(customer, user, cid, text, key) -> tuple[float, float]:
        """Send one message; seconds to the sender's return and to the agent's message.new."""
        queue = inbox[user_group(user.pk)]
        t0 = now()
        message, _ = await database_sync_to_async(services.message_send)(
            actor=Actor.for_customer(customer), conversation_id=cid, body=text, client_msg_id=key
        )
        accepted = now() - t0
        while True:
            event = await asyncio.wait_for(queue.get(), 10)
            frame = event["frame"]
            if frame["type"] == "message.new" and frame["message"]["id"] == message.pk:
                return accepted, now() - t0

    async def drain(seconds: float) -> None:
        await asyncio.sleep(seconds)
        for queue in inbox.values():
            while not queue.empty():
                queue.get_nowait()

    results = {"off": [], "on": [], "off_acc": [], "on_acc": []}
    per_block = max(1, args.messages // (2 * args.blocks))
    n = 0
    for block in range(args.blocks * 2):
        mode = "off" if block % 2 == 0 else "on"
        with override_settings(PARLEY_PIPELINE=on if mode == "on" else off):
            for _ in range(per_block):
                customer, user, cid = pairs[n % len(pairs)]
                text = TEXTS[n % len(TEXTS)].format(i=n)
                acc, delivered = await deliver(customer, user, cid, text, f"lat-{block}-{n}")
                if n >= args.warmup:
                    results[mode].append(delivered * 1000)
                    results[mode + "_acc"].append(acc * 1000)
                n += 1
        await drain(0.2)  # updates from the worker, between blocks

    # Throughput: back-to-back sends, then wait for every translation.
    with override_settings(PARLEY_PIPELINE=on):
        await drain(2.0)
        want: dict[int, float] = {}
        t_start = now()
        for i in range(args.throughput):
            customer, user, cid = pairs[i % len(pairs)]
            message, _ = await database_sync_to_async(services.message_send)(
                actor=Actor.for_customer(customer), conversation_id=cid,
                body=TEXTS[i % len(TEXTS)].format(i=i), client_msg_id=f"tp-{i}",
            )  # fmt: skip
            want[message.pk] = now()
        t_sent = now()
        done: dict[int, float] = {}
        deadline = now() + args.timeout
        while len(done) < len(want) and now() < deadline:
            for queue in inbox.values():
                try:
                    event = await asyncio.wait_for(queue.get(), 0.05)
                except TimeoutError:
                    continue
                frame = event["frame"]
                m = frame.get("message") or {}
                if (
                    frame["type"] == "message.updated"
                    and m.get("id") in want
                    and (m.get("translations", {}).get("en") or {}).get("state") == "done"
                ):
                    done.setdefault(m["id"], now())
        t_end = max(done.values()) if done else now()
    for task in readers:
        task.cancel()
    translate_ms = [(done[k] - want[k]) * 1000 for k in done]
    return {
        "latency": results,
        "throughput": {
            "messages": args.throughput,
            "accepted_per_s": args.throughput / (t_sent - t_start),
            "processed": len(done),
            "processed_per_s": len(done) / (t_end - t_start),
            "translation_ms_p50": percentile(translate_ms, 50),
            "translation_ms_p99": percentile(translate_ms, 99),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=400, help="latency samples, on+off")
    parser.add_argument("--blocks", type=int, default=4, help="off/on block pairs")
    parser.add_argument("--warmup", type=int, default=20, help="first sends not counted")
    parser.add_argument("--pairs", type=int, default=10, help="conversations")
    parser.add_argument("--throughput", type=int, default=300, help="messages, 0 to skip")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--worker-nice", type=int, default=0,
        help="run the worker at this nice level (10: background priority, as on one box)",
    )  # fmt: skip
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    if args.messages + args.throughput > MAX_MESSAGES:
        sys.exit(f"at most {MAX_MESSAGES} messages")

    stub = Stub()
    environment(stub.url)
    create_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from config.celery import app

    app.control.purge()
    log = tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
    worker = start_worker(log, args.worker_nice)
    try:
        time.sleep(4)  # worker start; the detector loads on its first task
        if worker.poll() is not None:
            sys.exit(Path(log.name).read_text()[-3000:])
        figures = asyncio.run(run(args))
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        log.close()
        os.unlink(log.name)

    from chat.pipeline.moderation import moderate

    moderate("warm up")
    samples = [t.format(i=i) for i in range(50) for t in TEXTS]
    t0 = now()
    for text in samples * 20:
        moderate(text, language="fr")
    per_message_us = (now() - t0) / (len(samples) * 20) * 1e6

    lat = figures["latency"]
    print(
        f"\nModeration alone (word lists, in-process): {per_message_us:.0f} µs per message "
        f"({len(samples) * 20} chat messages of 8-16 words)"
    )
    off, on = lat["off"], lat["on"]
    print(f"Delivery latency, send -> recipient's message.new ({len(off)} off / {len(on)} on):")
    print(f"  {'':22} {'p50':>8} {'p99':>8} {'mean':>8}")
    for label, values in (("pipeline off", off), ("pipeline on", on)):
        print(
            f"  {label:22} {percentile(values, 50):8.2f} {percentile(values, 99):8.2f} "
            f"{statistics.fmean(values):8.2f}  ms"
        )
    print(
        f"  {'added by the pipeline':22} {percentile(on, 50) - percentile(off, 50):8.2f} "
        f"{percentile(on, 99) - percentile(off, 99):8.2f} "
        f"{statistics.fmean(on) - statistics.fmean(off):8.2f}  ms  (goal: p99 added <= 30)"
    )
    print(
        f"  sender's return (accepted): off p50 {percentile(lat['off_acc'], 50):.2f} "
        f"p99 {percentile(lat['off_acc'], 99):.2f}; on p50 {percentile(lat['on_acc'], 50):.2f} "
        f"p99 {percentile(lat['on_acc'], 99):.2f} ms"
    )
    tp = figures["throughput"]
    if tp["messages"]:
        print(
            f"\nThroughput, {tp['messages']} messages back to back, 1 worker (solo, nice "
            f"{args.worker_nice}), "
            f"LibreTranslate stub:\n"
            f"  accepted {tp['accepted_per_s']:.0f} msg/s; fully processed (detected, "
            f"moderated, translated, pushed) {tp['processed']}/{tp['messages']} at "
            f"{tp['processed_per_s']:.0f} msg/s\n"
            f"  send -> translation pushed: p50 {tp['translation_ms_p50']:.0f} ms, "
            f"p99 {tp['translation_ms_p99']:.0f} ms (queueing included)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
