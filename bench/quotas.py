"""What a quota check costs: chat.quotas.charge against a real Redis (the Lua script that
checks and counts a key's three limits at once), from one thread and from several.

    REDIS_URL=redis://127.0.0.1:6379/13 DATABASE_URL=postgres://... SECRET_KEY=x \
        .venv/bin/python bench/quotas.py --calls 5000 --threads 1,4,16

Prints, per thread count: calls/s, p50 and p99 latency of one charge (µs), and checks
that the counts add up (every allowed call counted once, nothing over the limit).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from chat import quotas  # noqa: E402
from chat.quotas import Limit  # noqa: E402


def run(calls: int, threads: int, limit: int) -> None:
    owner = f"bench-{uuid.uuid4().hex[:8]}"
    limits = [
        Limit.parse("rate", f"{limit}/min"),
        Limit.parse("daily_requests", "100000000/day"),
        Limit.parse("daily_bytes", "100000000000/day", "bytes"),
    ]
    per_thread = calls // threads
    latencies: list[float] = []
    allowed = 0
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker() -> None:
        nonlocal allowed
        mine, ok = [], 0
        barrier.wait()
        for _ in range(per_thread):
            start = time.perf_counter()
            decision = quotas.charge("bench", owner, limits, {"requests": 1, "bytes": 512})
            mine.append(time.perf_counter() - start)
            ok += decision.allowed
            assert not decision.degraded, "Redis unreachable"
        with lock:
            latencies.extend(mine)
            allowed += ok

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    began = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - began
    total = per_thread * threads
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    counted = quotas.charge("bench", owner, limits[1:2]).used["daily_requests"]
    print(
        f"threads={threads:3d} calls={total:6d} {total / elapsed:8.0f} calls/s "
        f"p50={statistics.median(latencies) * 1e6:7.0f} µs p99={p99 * 1e6:7.0f} µs "
        f"allowed={allowed} (limit {limit}) counted={counted}"
    )
    assert allowed == min(total, limit) and counted == allowed, "counts do not add up"
    quotas.reset("bench", owner, limits)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--limit", type=int, default=10**9, help="the rate limit per minute")
    args = parser.parse_args()
    for threads in (int(t) for t in args.threads.split(",")):
        run(args.calls, threads, args.limit)


if __name__ == "__main__":
    main()
