"""The floor dashboard in a real Chromium: it updates live, over its socket, when a
conversation arrives (no page poll: the page never fetches after it loads)."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Site
from routing.models import Queue
from routing.services import conversation_assign
from supervision.models import Incident
from tests.browser import test_chat_e2e as e2e
from tests.factories import agent_actor, make_agent

pytestmark = pytest.mark.browser

PASSWORD = "floor-boss-e2e"


@pytest.fixture
def floor(transactional_db):
    queue = Queue.objects.create(name="Returns", sla_seconds=90, limit_mode="none")
    Site.objects.create(name="Shop", key="floor-shop", default_queue=queue)
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    get_user_model().objects.create(
        username="boss", password=hashed, is_staff=True, is_superuser=True
    )
    return queue


def post(url: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Visitor {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_floor_updates_live_when_a_conversation_arrives(asgi_server, browser, floor):
    base = asgi_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    requests: list[str] = []
    try:
        page.goto(f"{base}/admin/login/?next=/supervision/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{base}/supervision/")
        row = page.locator("#floor-queues tbody tr", has_text="Returns")
        expect(row.locator("td").nth(1)).to_have_text("0")
        expect(page.locator("#floor-verdict")).to_have_text(re.compile("No customer"))
        page.on("request", lambda r: requests.append(r.url))

        session = post(f"{base}/api/v1/widget/sessions/", {"site_key": "floor-shop"})
        started = post(f"{base}/api/v1/conversations/", {}, token=session["token"])
        conversation_id = started["id"]

        expect(row.locator("td").nth(1)).to_have_text("1")
        waiting = page.locator("#floor-waiting tbody tr", has_text=f"#{conversation_id}")
        expect(waiting).to_be_visible()
        page.screenshot(path="/tmp/parley_floor.png", full_page=True)
        # Following it shows the transcript read-only.
        waiting.get_by_role("button", name="Follow").click()
        expect(page.locator(f"#floor-follow-{conversation_id}")).to_be_visible()
        # An agent takes it and the customer writes: it moves to the active chats, with
        # who holds it and the customer's wait for a reply. (The take is made here, whose
        # channel layer is its own memory: the page learns of it from the next
        # FLOOR_REFRESH_SECONDS snapshot, as it learns of the clocks.)
        agent = make_agent("dora")
        conversation_assign(actor=agent_actor(agent), conversation_id=conversation_id)
        post(
            f"{base}/api/v1/conversations/{conversation_id}/messages/",
            {"body": "Is my parcel lost?", "client_msg_id": "floor-1"},
            token=session["token"],
        )
        active = page.locator("#floor-active tbody tr", has_text=f"#{conversation_id}")
        expect(active).to_contain_text("Dora", timeout=15_000)
        expect(active.locator("td").nth(2)).to_have_text("Returns")
        expect(active.locator("td").nth(5)).to_have_text(re.compile(r"^\d+ s$"))
        expect(waiting).to_have_count(0)
        # Everything came over the socket: no HTTP request after the page loaded.
        assert [u for u in requests if "/api/" in u or "/supervision/" in u] == []
    finally:
        page.close()


def test_the_widget_shows_an_open_incident_s_notice(asgi_server, browser, floor):
    site = Site.objects.get(key="floor-shop")
    Incident.objects.create(
        site=site, title="Slow", impact="degraded", started_at=timezone.now(),
        message="Replies are slower than usual today.",
    )  # fmt: skip
    page = browser.new_page()
    try:
        page.goto(f"{asgi_server.url}/demo/{site.key}/")
        page.get_by_test_id("parley-launcher").click()
        banner = e2e.widget(page).get_by_test_id("parley-banner")
        expect(banner).to_have_text("Replies are slower than usual today.")
    finally:
        page.close()
