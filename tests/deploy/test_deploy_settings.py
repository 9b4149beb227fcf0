"""Production defaults: `check --deploy` is clean once the documented settings are set, the
Content-Security-Policy is sent (with a nonce the demo page's one inline script carries),
and runparley loads the demo users only in the embedded trial unless asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.factories import make_site

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` as an operator runs it: production settings (not the
    test suite's), a real secret key, warnings counted as failures."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HTTPS_ONLY", "SECURE_", "SILENCED", "CSP_", "DEBUG", "DJANGO_"))
    }
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://parley@127.0.0.1:5432/parley",
        SECRET_KEY="k7Pq2vX9mZ4tR8wL1nB6yH3jF5sD0gA-uE7iO2cV9xN4bM8-Qw3Er5Ty7",
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=base, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def warnings(result: subprocess.CompletedProcess) -> set[str]:
    return set(re.findall(r"\(security\.(W\d+)\)", result.stdout + result.stderr))


@pytest.mark.live
def test_check_deploy_is_clean_with_the_documented_settings():
    plain = check_deploy()
    assert plain.returncode != 0
    assert {"W004", "W008", "W012", "W016"} <= warnings(plain)

    https = check_deploy(HTTPS_ONLY="true", SECURE_HSTS_PRELOAD="true")
    assert https.returncode == 0, https.stdout + https.stderr
    assert "no issues" in https.stdout

    # Without preload Django still asks for it (W021); an operator may waive it knowingly.
    no_preload = check_deploy(HTTPS_ONLY="true")
    assert warnings(no_preload) == {"W021"}
    waived = check_deploy(HTTPS_ONLY="true", SILENCED_SYSTEM_CHECKS="security.W021")
    assert waived.returncode == 0, waived.stdout + waived.stderr


def test_pages_carry_a_content_security_policy_and_the_demo_script_its_nonce(client, db):
    site = make_site()
    response = client.get(f"/demo/{site.key}/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", policy).group(1)
    html = response.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline == [f' nonce="{nonce}"']  # the only inline script is allowed by nonce
    assert " on" not in " ".join(re.findall(r"<[a-z]+ [^>]*\bon[a-z]+=", html))
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    # Every page, admin's login included (a nonce only where a page uses one).
    again = client.get("/admin/login/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in again and nonce not in again


def test_the_swagger_page_loads_its_script_from_a_url_not_inline(client, db):
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html
    assert "/api/docs/?script=" in html or "script=" in html


# --- runparley and the demo users -------------------------------------------------------------
def demo_users() -> set[str]:
    names = {"admin", "alice", "bob"}
    return set(
        get_user_model().objects.filter(username__in=names).values_list("username", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_runparley_loads_no_demo_users_in_production_mode(settings):
    settings.EMBEDDED_DATABASE, settings.DEBUG, settings.LOAD_DEMO = False, False, None
    call_command("runparley", "--setup-only")
    assert demo_users() == set()
    settings.DEBUG = True  # DATABASE_URL set is production mode, debug or not
    call_command("runparley", "--setup-only")
    assert demo_users() == set()
    call_command("runparley", "--setup-only", "--demo")  # asked explicitly
    assert demo_users() == {"admin", "alice", "bob"}


@pytest.mark.django_db(transaction=True)
def test_runparley_loads_the_demo_in_the_embedded_trial_unless_told_not_to(settings):
    settings.EMBEDDED_DATABASE, settings.DEBUG, settings.LOAD_DEMO = True, True, False
    call_command("runparley", "--setup-only")
    assert demo_users() == set()
    settings.LOAD_DEMO = None
    call_command("runparley", "--setup-only", "--no-demo")
    assert demo_users() == set()
    call_command("runparley", "--setup-only")
    assert demo_users() == {"admin", "alice", "bob"}
