"""The webhook POST alone: ``integrations.services.delivery.http_post`` (the call
``lane_run`` makes, without the claim, quota, signature and log around it) to a receiver in
another process on loopback, sequentially: wall time per POST, this process's CPU per POST,
and the TCP connections the receiver accepted. Compare the code before and after a change
in the same run: the machine is shared.

    SECRET_KEY=bench DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_hooks \\
        .venv/bin/python bench/webhook_posts.py --posts 2000 --port 8121 --receiver-writes 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Process, Value
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def receiver(port: int, connections, one_write: bool) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # http.server writes the head and the body in two send()s without TCP_NODELAY:
        # with a kept-alive connection, Nagle holds the body until the client's delayed ACK
        # (about 40 ms on Linux). Buffered (-1), the answer leaves in one write, as servers
        # that set TCP_NODELAY or write once (nginx, uvicorn, gunicorn, Node) do.
        wbufsize = -1 if one_write else 0

        def setup(self):  # once per TCP connection
            super().setup()
            with connections.get_lock():
                connections.value += 1

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--port", type=int, default=8121)
    parser.add_argument(
        "--receiver-writes",
        type=int,
        choices=(1, 2),
        default=1,
        help="the receiver answers in 1 write, or 2 (head, then body: http.server's default)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "true"
    import django

    django.setup()
    from integrations.services import delivery

    connections = Value("i", 0)
    proc = Process(
        target=receiver, args=(args.port, connections, args.receiver_writes == 1), daemon=True
    )
    proc.start()
    url = f"http://127.0.0.1:{args.port}/hook"
    body = '{"type":"message.created","data":{"message":{"body":"' + "x" * 600 + '"}}}'
    headers = {"Content-Type": "application/json", "User-Agent": delivery.USER_AGENT}
    deadline = time.monotonic() + 10
    while not delivery.http_post(url, body, headers).ok:  # the receiver is up
        if time.monotonic() > deadline:
            sys.exit("the receiver did not start")
        time.sleep(0.05)
    before = connections.value
    walls: list[float] = []
    cpu0 = time.process_time()
    for _ in range(args.posts):
        started = time.perf_counter()
        response = delivery.http_post(url, body, headers)
        walls.append((time.perf_counter() - started) * 1000)
        assert response.ok, response.error
    cpu = (time.process_time() - cpu0) * 1000 / args.posts
    walls.sort()
    print(
        f"{args.posts} POSTs: wall mean {statistics.mean(walls):.3f} ms, "
        f"p50 {walls[len(walls) // 2]:.3f} ms, p99 {walls[int(len(walls) * 0.99)]:.3f} ms; "
        f"CPU {cpu:.3f} ms per POST (this process); "
        f"{connections.value - before} TCP connection(s); receiver answers in "
        f"{args.receiver_writes} write(s)"
    )
    proc.terminate()


if __name__ == "__main__":
    main()
