"""The deployment's pieces agree on who is believed about the client's address: no daphne
is started with --proxy-headers (it believes X-Forwarded-For from anyone, the address the
throttles and the login lockout count), runparley's own balancer is trusted through
TRUSTED_PROXIES, and a systemd host can render the balancer's configuration."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from chat.management.commands.runparley import trusted_with_loopback
from config.server import daphne_command

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_no_daphne_believes_forwarded_headers_from_anyone_and_none_logs_addresses():
    unit = (DEPLOY / "systemd" / "parley-asgi@.service").read_text()
    exec_start = unit[unit.index("ExecStart=") :]
    assert "--proxy-headers" not in exec_start
    assert "--verbosity 0" in exec_start
    command = daphne_command("127.0.0.1", 8123)
    assert "--proxy-headers" not in command
    assert command[command.index("--verbosity") + 1] == "0"


def test_the_env_example_trusts_the_local_balancer():
    env = (DEPLOY / "systemd" / "parley.env.example").read_text()
    assert "TRUSTED_PROXIES=127.0.0.1" in env
    assert "DATABASE_DISABLE_SERVER_SIDE_CURSORS=true" in env


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], ["127.0.0.1", "::1"]),
        (["10.0.0.0/8"], ["10.0.0.0/8", "127.0.0.1", "::1"]),
        (["127.0.0.0/8", "::1"], ["127.0.0.0/8", "::1"]),
    ],
)
def test_runparley_trusts_its_own_balancer_on_loopback(given, expected):
    assert trusted_with_loopback(given) == expected


def test_render_balancer_prints_a_config_haproxy_accepts(tmp_path):
    out = StringIO()
    call_command("render_balancer", "--listen", ":8080", "--backends",
                 "127.0.0.1:8001,127.0.0.1:8002", stdout=out)  # fmt: skip
    text = out.getvalue()
    assert "server asgi1 127.0.0.1:8001 check" in text
    assert "server asgi2 127.0.0.1:8002 check" in text
    assert "option forwardfor" in text
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy is not installed (make install-test installs it)")
    config = tmp_path / "haproxy.cfg"
    config.write_text(text)
    check = subprocess.run([haproxy, "-c", "-f", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_render_balancer_refuses_a_backend_that_is_not_host_port():
    with pytest.raises(CommandError, match="HOST:PORT"):
        call_command("render_balancer", "--backends", "127.0.0.1", stdout=StringIO())
