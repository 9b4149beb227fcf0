"""runparley's children, kept running: a child that dies is started again (after a pause
that grows while it keeps dying), instead of taking the whole of Parley down with it.

In production systemd does the same with `Restart=` (deploy/systemd/); this is for the one
command that runs everything on one machine. The children die with the runner
(PR_SET_PDEATHSIG), so a runner killed with SIGKILL leaves nothing behind.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from config import embedded

logger = logging.getLogger("parley.supervisor")

# A child that ran this long before dying is healthy again: its next restart is immediate.
STABLE_AFTER = 30.0
BACKOFF_MAX = 30.0


@dataclass
class Child:
    name: str
    start: Callable[[], subprocess.Popen]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None
    restarts: int = 0
    log: list[str] = field(default_factory=list)

    def launch(self) -> None:
        self.proc = self.start()
        self.started_at = time.monotonic()
        self.restart_at = None


class Supervisor:
    def __init__(self, write: Callable[[str], None] = print) -> None:
        self.children: list[Child] = []
        self.write = write
        self.stopping = False

    def add(self, name: str, start: Callable[[], subprocess.Popen]) -> Child:
        child = Child(name, start)
        child.launch()
        self.children.append(child)
        return child

    def add_command(self, name: str, args: list[str]) -> Child:
        return self.add(name, lambda: subprocess.Popen(args, preexec_fn=embedded.die_with_parent))

    def check(self) -> None:
        """One round: notice children that died, restart those whose pause is over."""
        now = time.monotonic()
        for child in self.children:
            if self.stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restarts += 1
                    self.write(f"  restarting {child.name} (restart {child.restarts})")
                    try:
                        child.launch()
                    except Exception as exc:  # e.g. the embedded Redis did not come up
                        self._schedule(child, now, f"failed to start: {exc}")
                continue
            if child.proc is not None and child.proc.poll() is not None:
                self._schedule(child, now, f"exited with code {child.proc.returncode}")

    def _schedule(self, child: Child, now: float, why: str) -> None:
        if now - child.started_at >= STABLE_AFTER:
            child.backoff = 0.0
        else:
            child.backoff = min(BACKOFF_MAX, max(1.0, child.backoff * 2))
        child.restart_at = now + child.backoff
        self.write(f"  {child.name} {why}; restarting in {child.backoff:.0f} s")
        logger.warning("%s %s; restarting in %.0f s", child.name, why, child.backoff)

    def run_forever(self, interval: float = 0.5) -> None:
        while not self.stopping:
            self.check()
            time.sleep(interval)

    def stop(self) -> None:
        """Stop every child, in reverse order (the servers before the Redis they use)."""
        self.stopping = True
        for child in reversed(self.children):
            if child.proc is not None:
                # A death between the last round and the stop is still reported: the
                # operator reading the log must not take a crash for a clean stop.
                if child.restart_at is None and child.proc.poll() is not None:
                    self.write(f"  {child.name} exited with code {child.proc.returncode}")
                embedded.stop(child.proc)
                self.write(f"  stopped {child.name}")
