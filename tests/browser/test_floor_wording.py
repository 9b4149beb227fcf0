"""The supervisor's walkthrough, in a real Chromium at 1280 px: the floor says offline
messages apart (no SLA red while the verdict is green), shows reasons and toasts in words,
its breadcrumb ends at Floor; the admin index has one Supervision section; the reports'
table is not cut off; the status page gives an incident's start as a human time."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Site
from routing.models import Queue, QueueEntry
from supervision.models import Incident
from tests.routing.conftest import make_queue, online_agent, waiting

pytestmark = pytest.mark.browser

PASSWORD = "floor-words-e2e"
WIDTH = 1280


@pytest.fixture
def walkthrough(transactional_db):
    """Two offline messages left while the queue was closed, 3 min 34 s and 1 min 13 s
    ago (SLA 60 s); then the queue reopened and agents came back."""
    queue = make_queue(name="Care", sla_seconds=60, limit_mode=Queue.LimitMode.FIXED,
                       max_waiting=0)  # fmt: skip
    first, second = waiting(queue), waiting(queue)
    now = timezone.now()
    for conversation, age in ((first, 214), (second, 73)):
        QueueEntry.objects.filter(conversation=conversation).update(
            enqueued_at=now - dt.timedelta(seconds=age),
            sla_due_at=now - dt.timedelta(seconds=age - 60),
        )
    assert set(QueueEntry.objects.values_list("mode", flat=True)) == {"offline"}
    Queue.objects.filter(pk=queue.pk).update(limit_mode=Queue.LimitMode.NONE)
    ann = online_agent(queue, capacity=5, username="ann")
    bob = online_agent(queue, capacity=5, username="bob")
    hashed = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    get_user_model().objects.create(
        username="boss", password=hashed, is_staff=True, is_superuser=True
    )
    site = Site.objects.create(name="Shop", key="words-shop", default_queue=queue)
    Incident.objects.create(
        site=site, title="Slow", impact="degraded",
        started_at=dt.datetime(2026, 12, 6, 12, 28, 53, tzinfo=dt.UTC),
    )  # fmt: skip
    return {"queue": queue, "first": first, "second": second, "ann": ann, "bob": bob}


def test_the_supervisor_walkthrough_reads_in_words(asgi_server, browser, walkthrough):
    base = asgi_server.url
    page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
    try:
        page.goto(f"{base}/admin/login/?next=/supervision/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{base}/supervision/")
        expect(page.locator(".breadcrumbs")).to_have_text(re.compile(r"^\s*Home \u203a Floor\s*$"))

        # 1. The verdict, the queue row and the waiting list agree.
        expect(page.locator("#floor-verdict")).to_have_text(re.compile("No customer"))
        row = page.locator("#floor-queues tbody tr", has_text="Care").locator("td")
        expect(row.nth(1)).to_have_text("0")  # waiting
        expect(row.nth(4)).to_have_text("0")  # past SLA
        expect(row.nth(5)).to_have_text(re.compile(r"^2 \(oldest 3 min 3\d s\)$"))
        offline_rows = page.locator("#floor-waiting tbody tr[data-offline]")
        expect(offline_rows).to_have_count(2)
        expect(offline_rows.first.locator(".floor-badge")).to_have_text("offline message")
        expect(offline_rows.first.locator("td").nth(3)).to_have_text(re.compile(r"3 min 3\d s"))
        expect(page.locator("#floor-waiting td.bad")).to_have_count(0)

        # 2. Reasons and toasts in words.
        bob_row = page.locator("#floor-agents tbody tr", has_text="Bob")
        expect(bob_row.locator("td").nth(1)).to_have_text("Online")
        expect(bob_row.locator("td").nth(2)).to_have_text("Console connected")
        toast = page.locator("#floor-toast")
        bob_row.get_by_role("button", name="Set away").click()
        expect(toast).to_have_text("Bob is now away")
        expect(bob_row.locator("td").nth(2)).to_have_text("Set by a supervisor")
        first = walkthrough["first"].pk
        waiting_row = page.locator(f"#floor-waiting tbody tr[data-conversation='{first}']")
        waiting_row.locator("select").select_option(str(walkthrough["ann"].pk))
        waiting_row.get_by_role("button", name="Reassign").click()
        expect(toast).to_have_text(f"Conversation #{first} reassigned to Ann")
        page.locator("#floor-queues tbody tr", has_text="Care").get_by_role(
            "button", name="Close"
        ).click()
        expect(toast).to_have_text("Queue Care closed to new chats")
        page.screenshot(path="/tmp/parley_floor_words.png", full_page=True)

        # 3. One Supervision section on the admin index.
        page.goto(f"{base}/admin/")
        captions = [c.strip() for c in page.locator("caption").all_inner_texts()]
        assert [c.upper() for c in captions].count("SUPERVISION") == 1, captions

        # The reports' table fits: the page does not overflow sideways, and the last
        # column can be scrolled to inside its box.
        page.goto(f"{base}/supervision/reports/")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        box = page.locator(".report-scroll").first
        box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
        last = page.locator("#report thead th").last
        expect(last).to_have_text("CSAT answers")
        inside = last.evaluate(
            "th => { const b = th.closest('.report-scroll').getBoundingClientRect();"
            " const r = th.getBoundingClientRect(); return r.right <= b.right + 1 && r.left >= b.left - 1; }"
        )
        assert inside
        page.screenshot(path="/tmp/parley_reports_1280.png", full_page=True)

        # The status page: a human time in the reader's zone, the ISO value kept in the
        # attribute (a reader in Paris, in British English).
        paris = browser.new_context(locale="en-GB", timezone_id="Europe/Paris")
        status_page = paris.new_page()
        status_page.goto(f"{base}/status/words-shop/")
        when = status_page.locator(".incident time")
        expect(when).to_have_attribute("datetime", "2026-12-06T12:28:53+00:00")
        expect(status_page.locator(".incident p").first).to_have_text(
            "Investigating since 6 Dec 2026, 13:28 CET"
        )
        expect(when).to_have_attribute("title", "6 Dec 2026, 12:28 UTC")
        paris.close()
    finally:
        page.close()
