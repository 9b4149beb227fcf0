"""The balancer in front of several ASGI processes: HAProxy from Debian (deploy/install.sh),
configured from deploy/haproxy/parley.cfg.template, the one copy of its settings that both
`runparley --balancer-port` and a systemd host use."""

from __future__ import annotations

import resource
import shutil
import subprocess
from pathlib import Path

from config.embedded import die_with_parent

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "haproxy" / "parley.cfg.template"
# Sockets one ASGI process holds at most here (DESIGN.md section 9: about 19,000 with a
# 20,000 file limit); HAProxy queues connections past it instead of overloading one.
PER_PROCESS_MAXCONN = 18000


def haproxy_config(listen: str, backends: list[tuple[str, int]]) -> str:
    servers = "\n".join(
        f"    server asgi{i + 1} {host}:{port} check" for i, (host, port) in enumerate(backends)
    )
    # The same processes again, unchecked, as backups: used only while every checked one
    # counts as down (the template says why).
    fallbacks = "\n".join(
        f"    server asgi{i + 1}-fallback {host}:{port} backup"
        for i, (host, port) in enumerate(backends)
    )
    # A proxied connection costs HAProxy two descriptors: stay within this host's limit.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    fit = (hard - 200) // 2 if hard != resource.RLIM_INFINITY else PER_PROCESS_MAXCONN * 64
    return TEMPLATE.read_text().format(
        listen=listen,
        servers=servers,
        fallbacks=fallbacks,
        maxconn=max(100, min(PER_PROCESS_MAXCONN * len(backends), fit)),
        per_server_maxconn=PER_PROCESS_MAXCONN,
    )


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found is None:
        raise RuntimeError("haproxy is not installed: run deploy/install.sh (Debian's package)")
    return found


def start_haproxy(
    config_path: Path, listen: str, backends: list[tuple[str, int]]
) -> subprocess.Popen:
    config_path.write_text(haproxy_config(listen, backends))
    binary = haproxy_binary()
    check = subprocess.run(
        [binary, "-c", "-q", "-f", str(config_path)], capture_output=True, text=True
    )
    if check.returncode != 0:
        raise RuntimeError(f"haproxy rejected {config_path}: {check.stdout}{check.stderr}")
    # -db: stay in the foreground, so the runner supervises it like its other children.
    return subprocess.Popen([binary, "-db", "-f", str(config_path)], preexec_fn=die_with_parent)
