"""The console's chrome in a real Chromium: the top bar at common widths, Resolve with its
Undo, the sidebar's counts. Helpers and fixtures come from test_chat_e2e."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser import test_chat_e2e as e2e
from tests.browser.test_chat_e2e import login, open_widget, watch_errors, write

pytestmark = pytest.mark.browser
shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it

SHOTS = "/tmp/ui-shots/{}.png"
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u25f7\u2713\u2605]")


def _overlaps(page) -> list[str]:
    """Pairs of the top bar's visible children whose boxes intersect."""
    return page.evaluate(
        """() => {
          const kids = Array.from(document.querySelector('.topbar').children)
            .filter((k) => k.offsetParent !== null && !k.classList.contains('spacer'))
            .map((k) => [k.dataset.testid || k.className, k.getBoundingClientRect()])
            .filter(([, r]) => r.width > 0 && r.height > 0);
          const hits = [];
          for (let i = 0; i < kids.length; i++)
            for (let j = i + 1; j < kids.length; j++) {
              const [a, r] = kids[i], [b, s] = kids[j];
              if (r.left < s.right - 0.5 && s.left < r.right - 0.5 && r.top < s.bottom - 0.5 && s.top < r.bottom - 0.5)
                hits.push(`${a} x ${b}`);
            }
          const bar = document.querySelector('.topbar');
          if (bar.scrollWidth > bar.clientWidth + 1) hits.push('topbar scrolls sideways');
          return hits;
        }"""
    )


def test_the_top_bar_never_overlaps(asgi_server, browser, shop):
    from agents.models import AgentProfile

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    # A long name, as real teams have: the bar must truncate it, not overlap.
    AgentProfile.objects.filter(user__username="alice").update(
        display_name="Alexandrina-Maximiliana Vandenberghe-Oosterhuis"
    )
    customer = browser.new_context(viewport=e2e.VIEWPORT)
    agent = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Do you rent floor sanders?")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        expect(console.get_by_test_id("agent-load")).to_be_visible()
        for width, height in ((1440, 900), (1280, 800), (1024, 768), (760, 900), (390, 844)):
            console.set_viewport_size({"width": width, "height": height})
            console.wait_for_timeout(200)
            console.screenshot(path=SHOTS.format(f"console_{width}"))
            assert _overlaps(console) == [], width
            # The page never scrolls sideways (760 px: "Log out" was cut off).
            wide = console.evaluate("document.documentElement.scrollWidth - innerWidth")
            culprits = console.evaluate(
                "() => Array.from(document.querySelectorAll('body *')).filter((e) =>"
                " e.getBoundingClientRect().right > innerWidth + 1 && e.offsetParent !== null)"
                ".slice(0, 8).map((e) => (e.dataset.testid || e.className || e.tagName)"
                " + ':' + Math.round(e.getBoundingClientRect().right))"
            )
            assert wide <= 1, (width, wide, culprits)
        console.set_viewport_size({"width": 1280, "height": 800})
        # Icons are drawn (icons.js), not emoji, and each says what it is.
        console.get_by_test_id("composer-input").fill("Yes, from 25 EUR a day.")
        console.get_by_test_id("composer-input").press("Enter")
        tick = console.get_by_test_id("transcript-tick").last
        expect(tick).to_have_text(re.compile("^(Sent|Delivered|Read)$"))  # hidden text
        for icon in (
            console.get_by_test_id("help-open"),
            console.get_by_test_id("composer-attach"),
            tick,
        ):
            expect(icon.locator("svg")).to_have_count(1)
            assert not EMOJI.search(icon.inner_text())
        expect(console.get_by_test_id("help-open")).to_have_attribute(
            "aria-label", "Keyboard shortcuts"
        )
        expect(console.get_by_test_id("composer-attach")).to_have_attribute(
            "aria-label", "Attach files"
        )
        # The truncated name is still there in full, for the pointer and screen readers.
        me = console.get_by_test_id("console-user")
        expect(me).to_have_attribute("title", "Alexandrina-Maximiliana Vandenberghe-Oosterhuis")
    finally:
        customer.close()
        agent.close()
    assert errors == []


def wait_for_status(conversation, status: str, *, within: float) -> None:
    """Poll the database until the conversation has ``status``, failing after ``within``
    seconds (what a customer's widget or an integrator would wait at most)."""
    deadline = time.monotonic() + max(within, 0.0)
    while True:
        conversation.refresh_from_db()
        if conversation.status == status:
            return
        assert time.monotonic() < deadline, f"still {conversation.status}, not {status}"
        time.sleep(0.05)


def test_resolve_can_be_undone_and_the_counts_follow(asgi_server, browser, shop):
    from agents.models import AgentProfile
    from chat.models import Conversation

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    # Alice serves no queue: nothing is offered to her, the chat waits under Waiting.
    AgentProfile.objects.get(user__username="alice").queues.clear()
    customer = browser.new_context(viewport=e2e.VIEWPORT)
    agent = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Can I return a drill?")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        mine, waiting = (
            console.get_by_test_id("mine-count"),
            console.get_by_test_id("waiting-count"),
        )
        expect(waiting).to_have_text("1")
        expect(waiting).to_have_attribute("title", "1 waiting chat")
        expect(mine).to_have_text("0")
        expect(console.get_by_role("heading", name="My chats: 0 open chats")).to_be_visible()

        # Taking it moves the counts at once.
        console.get_by_test_id("waiting-list").get_by_test_id("conversation-take").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        expect(mine).to_have_text("1")
        expect(console.get_by_role("heading", name="My chats: 1 open chat")).to_be_visible()
        expect(waiting).to_have_text("0")
        conversation = Conversation.objects.get()

        # Resolve: it goes to the server at once (the customer sees it closed and is asked
        # to rate), and the toast offers Undo.
        console.get_by_test_id("chat-resolve").click()
        clicked = time.monotonic()
        undo = console.get_by_test_id("undo-toast")
        expect(undo).to_be_visible()
        expect(undo).to_contain_text("Resolved")
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved", timeout=3_000)
        wait_for_status(conversation, "resolved", within=3.0 - (time.monotonic() - clicked))
        widget = e2e.widget(tab)
        expect(widget.get_by_test_id("parley-csat")).to_be_visible()
        console.screenshot(path=SHOTS.format("console_resolve_undo_1440"))

        # Undo takes it back on the server: open and hers again, the customer's rating card
        # goes away and they can write on.
        console.get_by_test_id("undo-button").click()
        expect(undo).to_be_hidden()
        expect(console.get_by_test_id("toast")).to_contain_text("Undone")
        expect(console.get_by_test_id("chat-status")).to_have_text("Open")
        expect(console.get_by_test_id("chat-resolve")).to_be_visible()
        expect(console.get_by_test_id("composer")).to_be_visible()
        expect(mine).to_have_text("1")
        wait_for_status(conversation, "assigned", within=5.0)
        assert conversation.assignee.username == "alice"
        assert conversation.resolved_at is None
        expect(widget.get_by_test_id("parley-csat")).to_have_count(0)
        expect(widget.get_by_test_id("parley-messages")).to_contain_text("Conversation reopened.")
        expect(widget.get_by_test_id("parley-status")).not_to_contain_text("Conversation closed")
        write(tab, "Thanks, one more question")
        expect(console.get_by_test_id("transcript")).to_contain_text("one more question")
        conversation.refresh_from_db()
        assert conversation.status == "assigned"  # the customer's message found it open

        # Resolve with the keyboard and leave it: resolved at once, and it stays so.
        composer = console.get_by_test_id("composer-input")
        composer.press("Escape")
        console.locator("body").press("e")
        pressed = time.monotonic()
        expect(undo).to_be_visible()
        expect(console.get_by_test_id("chat-status")).to_have_text("Resolved", timeout=3_000)
        wait_for_status(conversation, "resolved", within=3.0 - (time.monotonic() - pressed))
        expect(widget.get_by_test_id("parley-status")).to_contain_text(
            "Conversation closed", timeout=3_000
        )
        expect(undo).to_be_hidden()
        expect(mine).to_have_text("0")
        conversation.refresh_from_db()
        assert conversation.status == "resolved"
    finally:
        customer.close()
        agent.close()
    assert errors == []
