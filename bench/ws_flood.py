"""Flood: N widget sockets each send a burst of pings as fast as they can, beside one quiet
widget socket that pings at a steady pace. Against a running Parley server.

Prints the quiet socket's ping round trip (send ``ping`` → its ``pong``) before, during
and after the flood (p50, p99, max), and what each flooding socket got: ``rate_limited``
errors, pongs (frames the server handled) and how it was closed (4429 expected). The
rate limit is charged as a frame arrives and each socket's queue is bounded, so a flood
is refused while it arrives and the quiet socket waits behind at most one frame of each.

Like ws_pairs.py it sets Django up to make its customers and their visitor tokens, so run
it with the server's environment (``DATABASE_URL``, ``REDIS_URL``, ``SECRET_KEY``, or
``PARLEY_DATA_DIR``). It only talks to 127.0.0.1 / localhost. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
MAX_SOCKETS, MAX_FRAMES = 200, 5000  # not a flood tool against anything but a local test

now = time.perf_counter


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def summary(label: str, rtts: list[float]) -> str:
    ms = [v * 1000 for v in rtts]

    def f(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    return (
        f"{label:<8} n={len(ms):<4} p50={f(percentile(ms, 0.5))} ms  "
        f"p99={f(percentile(ms, 0.99))} ms  max={f(max(ms) if ms else None)} ms"
    )


def make_tokens(count: int) -> list[str]:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from chat import services
    from chat.models import Customer, Site
    from routing.models import Queue

    queue = Queue.objects.get_or_create(name="General")[0]
    site = Site.objects.get_or_create(
        key="bench-ws-flood", defaults={"name": "bench ws_flood", "default_queue": queue}
    )[0]
    tokens = []
    for n in range(count):
        customer = Customer.objects.create(site=site, name=f"flood {n}", locale="en")
        tokens.append(services.visitor_token_issue(customer=customer))
    return tokens


async def open_socket(ws_base: str, token: str):
    from websockets.asyncio.client import connect

    ws = await connect(f"{ws_base}/ws/widget/?token={token}", open_timeout=20, max_size=None)
    while json.loads(await ws.recv())["type"] != "hello":
        pass
    return ws


async def quiet_pinger(ws, stop: asyncio.Event, interval: float, phase: dict, out: dict) -> None:
    """Pings every `interval` s; each round trip is filed under the phase it started in."""
    pending: dict[str, tuple[float, str]] = {}
    limited = 0

    async def read() -> None:
        nonlocal limited
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "pong" and frame.get("ref") in pending:
                started, label = pending.pop(frame["ref"])
                out.setdefault(label, []).append(now() - started)
                out.setdefault("series", []).append((started, now() - started))
            elif frame.get("type") == "error" and frame.get("code") == "rate_limited":
                limited += 1

    reader = asyncio.create_task(read())
    n = 0
    while not stop.is_set():
        n += 1
        pending[f"q{n}"] = (now(), phase["name"])
        await ws.send(json.dumps({"type": "ping", "id": f"q{n}"}))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    await asyncio.sleep(1.0)  # the last answers
    reader.cancel()
    out["quiet_rate_limited"] = limited
    out["quiet_unanswered"] = len(pending)


async def flooder(ws, frames: int, spread: float, wait: float, kind: str) -> dict:
    """Sends `frames` pings evenly over `spread` seconds, while reading the answers."""
    from websockets.exceptions import ConnectionClosed

    started = now()
    got = {"rate_limited": 0, "pong": 0, "other": 0, "close": None}

    async def send_all() -> None:
        with contextlib.suppress(ConnectionClosed):
            for n in range(frames):
                if spread:
                    await asyncio.sleep(max(0.0, started + n * spread / frames - now()))
                frame = {"type": kind, "id": n}
                if kind == "resume":  # always a database call: a conversation nobody has
                    frame |= {"conversation": 10**9, "after_seq": 0}
                await ws.send(json.dumps(frame))
        got["send_seconds"] = now() - started

    sender = asyncio.create_task(send_all())
    try:
        # Until the server closes the socket, or has answered every frame (a server that
        # never limits the flood), or the timeout.
        async with asyncio.timeout(wait):
            async for raw in ws:
                frame = json.loads(raw)
                code = frame.get("code") if frame.get("type") == "error" else frame.get("type")
                got[code if code in ("rate_limited", "pong") else "other"] += 1
                if got["rate_limited"] + got["pong"] + got["other"] >= frames:
                    break
    except (ConnectionClosed, TimeoutError):
        pass
    got["close"] = ws.close_code if ws.close_code is not None else "open"
    await sender
    await ws.close()
    return got


async def run(args: argparse.Namespace) -> None:
    parts = urlsplit(args.url)
    if parts.hostname not in LOCAL_HOSTS:
        raise SystemExit("ws_flood.py only talks to a local server (127.0.0.1 / localhost).")
    ws_base = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    tokens = await asyncio.to_thread(make_tokens, args.sockets + 1)
    quiet = await open_socket(ws_base, tokens[0])
    floods = [await open_socket(ws_base, token) for token in tokens[1:]]
    phase, rtts, stop = {"name": "before"}, {}, asyncio.Event()
    pinger = asyncio.create_task(quiet_pinger(quiet, stop, args.interval, phase, rtts))
    await asyncio.sleep(args.before)
    phase["name"] = "during"
    flood_started = rtts["flood_started"] = now()
    results = await asyncio.gather(
        *(flooder(ws, args.frames, args.spread, args.timeout, args.frame) for ws in floods)
    )
    flood_seconds = now() - flood_started
    phase["name"] = "after"
    await asyncio.sleep(args.after)
    stop.set()
    await pinger
    await quiet.close()

    print(
        f"{args.sockets} flooding sockets x {args.frames} {args.frame} frames, sent in "
        f"{max(r['send_seconds'] for r in results):.2f} s; the flood lasted {flood_seconds:.2f} s "
        f"(until each flooder was closed or answered); 1 quiet socket pinging every {args.interval * 1000:.0f} ms"
    )
    for label in ("before", "during", "after"):
        print("quiet " + summary(label, rtts.get(label, [])))
    print(
        f"quiet    rate_limited={rtts['quiet_rate_limited']} unanswered={rtts['quiet_unanswered']}"
    )
    if args.series:
        series = [
            f"{(t - flood_started) * 1000:+.0f}:{rtt * 1000:.0f}"
            for t, rtt in rtts["series"]
            if -0.5 < t - flood_started < flood_seconds + 1.0
        ]
        print("quiet    send offset from the flood's start : round trip, ms: " + " ".join(series))
    closes: dict = {}
    for r in results:
        closes[r["close"]] = closes.get(r["close"], 0) + 1
    print(
        f"floods   ended by {dict(sorted(closes.items(), key=str))} (a code: closed by the "
        "server; open: every frame answered, never closed)"
    )
    print(
        "floods   per socket: "
        f"rate_limited {min(r['rate_limited'] for r in results)}-"
        f"{max(r['rate_limited'] for r in results)}, pongs "
        f"{min(r['pong'] for r in results)}-{max(r['pong'] for r in results)}, "
        f"other {sum(r['other'] for r in results)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--sockets", type=int, default=20, help="flooding sockets")
    parser.add_argument("--frames", type=int, default=200, help="pings per flooding socket")
    parser.add_argument("--series", action="store_true", help="print round trips around the flood")
    parser.add_argument(
        "--frame",
        default="ping",
        help="the flood's frame type: ping (a database call each, unless the server answers "
        "a widget's ping from memory), resume (always a database call; answered not_found) "
        "or an unknown type such as noop (charged, answered unknown_type, no database)",
    )
    parser.add_argument(
        "--spread", type=float, default=0.55, help="seconds over which a flooder sends its frames"
    )
    parser.add_argument(
        "--interval", type=float, default=0.1, help="quiet ping interval, s (within its limit)"
    )
    parser.add_argument("--before", type=float, default=3.0, help="seconds measured before")
    parser.add_argument("--after", type=float, default=5.0, help="seconds measured after")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest flood wait, s")
    args = parser.parse_args()
    if not 0 < args.sockets <= MAX_SOCKETS or not 0 < args.frames <= MAX_FRAMES:
        raise SystemExit(f"--sockets at most {MAX_SOCKETS}, --frames at most {MAX_FRAMES}")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
