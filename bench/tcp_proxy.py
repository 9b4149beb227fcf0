"""A TCP proxy on loopback, for bench/chaos.py: Parley reaches PostgreSQL through it, and
the bench pauses it (SIGSTOP, then SIGCONT) to pause "the database" for a few seconds
without touching the machine's PostgreSQL, which other work shares. While it is stopped,
open connections carry nothing and new ones wait in the listen backlog, as with a database
host that stalls.

    .venv/bin/python bench/tcp_proxy.py --listen 8721 --to 5432
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

MAX_CONNECTIONS = 200


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def main(listen: int, target: int) -> None:
    open_now = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now
        if open_now >= MAX_CONNECTIONS:
            writer.close()
            return
        open_now += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            open_now -= 1
            writer.close()
            return
        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            open_now -= 1

    server = await asyncio.start_server(handle, "127.0.0.1", listen, backlog=512)
    print(f"tcp_proxy 127.0.0.1:{listen} -> 127.0.0.1:{target}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listen", type=int, required=True)
    p.add_argument("--to", type=int, default=5432)
    a = p.parse_args()
    if not (1024 < a.listen < 65536 and 0 < a.to < 65536):
        sys.exit("ports out of range")
    asyncio.run(main(a.listen, a.to))
