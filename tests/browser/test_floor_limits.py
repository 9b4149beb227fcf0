"""The floor in Chromium: a waiting list cut at the socket's bound says so and links to the
rest in admin; following a conversation that does not exist adds no panel; no page asks
for a favicon it does not get."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from chat.models import Conversation
from routing.models import QueueEntry
from tests.browser.test_floor import PASSWORD, floor  # noqa: F401 (fixture)
from tests.factories import make_customer, make_site

pytestmark = pytest.mark.browser


def _waiting(queue, n: int) -> list[int]:
    site = make_site(default_queue=queue)
    now = timezone.now()
    ids = []
    for i in range(n):
        at = now - dt.timedelta(seconds=10 * (n - i))
        c = Conversation.objects.create(
            site=site, customer=make_customer(site=site), status="queued", queue=queue,
            queued_at=at,
        )  # fmt: skip
        QueueEntry.objects.create(
            conversation=c, queue=queue, enqueued_at=at, sla_due_at=at + dt.timedelta(minutes=5)
        )
        ids.append(c.pk)
    return ids


def _login(page, base):
    page.goto(f"{base}/admin/login/?next=/supervision/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{base}/supervision/")


def test_a_cut_list_says_so_and_links_to_the_rest(asgi_server, browser, floor):  # noqa: F811
    ids = _waiting(floor, 60)
    base = asgi_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    missing: list[str] = []
    page.on("response", lambda r: r.status == 404 and missing.append(r.url))
    try:
        _login(page, base)
        expect(page.locator("#floor-waiting tbody tr")).to_have_count(50)
        note = page.locator("#floor-waiting-more")
        expect(note).to_be_visible()
        expect(note).to_contain_text("50 of 60 shown (live chats by longest wait")
        expect(page.locator("#floor-active-more")).to_be_hidden()
        # The longest waits are the ones shown.
        expect(page.locator(f'#floor-waiting tr[data-conversation="{ids[0]}"]')).to_have_count(1)
        expect(page.locator(f'#floor-waiting tr[data-conversation="{ids[-1]}"]')).to_have_count(0)
        note.get_by_role("link", name="See all 60 in admin").click()
        expect(page.locator("#result_list tbody tr")).to_have_count(60)
        first = page.locator("#result_list tbody tr").first
        expect(first).to_contain_text(str(ids[0]))
        assert missing == [], missing  # the favicon among them
    finally:
        page.close()


def test_following_a_conversation_that_does_not_exist_adds_no_panel(
    asgi_server,
    browser,
    floor,  # noqa: F811
):
    (real,) = _waiting(floor, 1)
    base = asgi_server.url
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        _login(page, base)
        expect(page.locator("#floor-connection")).to_be_hidden()
        page.fill("#floor-follow-form input[name=conversation]", "99999")
        page.click("#floor-follow-form input[type=submit]")
        expect(page.locator("#floor-toast")).to_have_text(re.compile("No such conversation"))
        page.wait_for_timeout(300)
        expect(page.locator("#floor-follow-99999")).to_have_count(0)
        expect(page.locator("#floor-following > *")).to_have_count(0)
        # A real one still opens its panel.
        page.fill("#floor-follow-form input[name=conversation]", str(real))
        page.click("#floor-follow-form input[type=submit]")
        expect(page.locator(f"#floor-follow-{real}")).to_be_visible()
    finally:
        page.close()
