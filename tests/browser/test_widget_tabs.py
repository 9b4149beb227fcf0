"""One socket serves all of a site's tabs, in Chromium (issue 12, continuity).

The widget runs in an iframe on Parley's origin. Its tabs share one socket through the
client's hub (static/parley/client/tabs.js): a SharedWorker, or without one a leader tab
elected with a Web Lock. The host page here is on `localhost` and Parley on `127.0.0.1`:
two sites, so the frame is a third-party iframe, whose storage, SharedWorker, Web Locks and
BroadcastChannel Chromium partitions by the top-level site. Tabs of one host site therefore
share a socket; a tab of another host site is another visitor with a socket of its own.

Sockets are counted on the server: each open socket holds a lease in Redis
(chat/socket_cap.py), given back when it closes. The tests count their own visitors' leases
only, and wait for the count to settle (steady state), with deadlines that only bound a
failing run: nothing here asserts how fast anything happens.
"""

from __future__ import annotations

import time

import pytest
import redis
from django.conf import settings
from playwright.sync_api import Page, expect

from chat.models import Customer, Message
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    JOINED,
    VIEWPORT,
    login,
    open_widget,
    shop,
    transcript,
    watch_errors,
    widget,
    widget_frame,
    write,
)
from tests.browser.test_embed import host_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A partner's shop</title></head>
<body><h1>A shop on another site</h1>
<script src="{server}/static/parley/widget.js" data-site="{key}" async></script>
</body></html>"""
POLICY = "script-src http:; frame-src http:"


# Playwright turns Chromium's third-party storage partitioning off (its issue 32230) with
# a --disable-features list of its own; a later --disable-features replaces that list, so
# this one is Playwright's without ThirdPartyStoragePartitioning: Chromium as shipped.
AS_SHIPPED = (
    "--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,"
    "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,"
    "AvoidCorsURLLoaderRestartOnRedirect,OptimizationHints,NetworkTimeServiceQuerying"
)


@pytest.fixture
def window(browser):
    """A browser window of Chromium as shipped: a third-party frame's storage, workers,
    locks and channels partitioned by the top-level site. (With partitioning off, as in
    Playwright's default, Chromium refuses such a frame any storage: the last test.)"""
    chrome = browser.browser_type.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, AS_SHIPPED]
    )
    context = chrome.new_context(viewport=VIEWPORT)
    yield context
    chrome.close()


def partner_page(serve, server: str, key: str) -> str:
    """The host page, on `localhost`: another site than Parley's `127.0.0.1`."""
    return serve(HOST_PAGE.format(server=server, key=key), POLICY).replace("127.0.0.1", "localhost")


def sockets_held() -> dict[int, int]:
    """Widget sockets open now, per visitor of this test (their leases, chat/socket_cap.py).

    Only this test's visitors count: a lease outlives its socket when the server process
    stops with the socket open (an earlier test's restart), until it runs out (LEASE, two
    minutes), and earlier tests of the run share this run's Redis prefix."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    try:
        now = time.time()
        return {
            pk: client.zcount(f"{settings.REDIS_KEY_PREFIX}:sockets:customer:{pk}", now, "+inf")
            for pk in Customer.objects.order_by("pk").values_list("pk", flat=True)
        }
    finally:
        client.close()


def until(check, timeout: float = 60.0):
    """Poll `check()` until it returns something true, and return that (or its last value
    when the time ran out). The deadline is generous: it only bounds a failing run."""
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def one_socket_each(visitors: int) -> dict[int, int]:
    """This test's visitors and their sockets, once there are `visitors` visitors with one
    socket each (a socket's lease comes at its handshake and goes back in the background
    after its close), or as they were when the time ran out."""
    held = {}

    def settled():
        held.clear()
        held.update(sockets_held())
        return len(held) == visitors and set(held.values()) == {1}

    until(settled)
    return held


# Notes every text the widget's typing line shows (window.typingShown), however briefly.
RECORD_TYPING = """() => {
  const line = document.querySelector("[data-testid=parley-typing]");
  window.typingShown = [];
  const note = () => { if (!line.hidden) window.typingShown.push(line.textContent.trim()); };
  new MutationObserver(note).observe(line, {attributes: true, childList: true, subtree: true});
}"""


def typing_shown(tabs: list[Page]) -> list[list[str]]:
    return [widget_frame(tab).evaluate("window.typingShown") for tab in tabs]


def set_panel(page: Page, open_: bool) -> None:
    launcher = page.get_by_test_id("parley-launcher")
    if (launcher.get_attribute("aria-expanded") == "true") != open_:
        launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true" if open_ else "false")


@pytest.mark.parametrize("hub", ["worker", "leader"])
def test_a_sites_tabs_share_one_socket_and_lose_nothing_when_the_first_tab_closes(
    asgi_server,
    browser,
    window,
    shop,  # noqa: F811
    host_page,  # noqa: F811
    hub,
):
    expect.set_options(timeout=30_000)  # a bound on a failing run, not a speed
    base = asgi_server.url
    url = partner_page(host_page, base, shop.key)
    errors: list[str] = []
    customer = window
    if hub == "leader":
        customer.add_init_script("delete window.SharedWorker;")  # every frame: the leader's way
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tabs = []
        for _ in range(3):
            tab = watch_errors(customer.new_page(), errors)
            open_widget(tab, url)
            tabs.append(tab)
        first, second, third = tabs
        for tab in tabs:
            assert widget_frame(tab).evaluate("window.parleySharedSocket") == hub

        # --- a message from one tab shows in all three, over one server socket -------------
        everything = ["Hello from the first tab."]
        write(first, everything[0])
        for tab in tabs:
            expect(transcript(tab, "parley-messages")).to_have_text(everything)
        # One visitor (the tabs share the frame's storage), on one socket.
        assert list(one_socket_each(1).values()) == [1]

        # --- the agent joins, types and answers: every tab sees it -------------------------
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(transcript(console, "transcript")).to_have_text([*everything, JOINED])
        everything.append(JOINED)
        # Typing lasts seconds (the console stops it after 5 s idle): each tab records
        # what its typing line showed, so a slow check of the tabs one by one cannot miss it.
        for tab in tabs:
            widget_frame(tab).evaluate(RECORD_TYPING)
        composer = console.get_by_test_id("composer-input")
        composer.fill("Let me check")
        typing = "Alice is typing…"
        assert until(lambda: all(typing in shown for shown in typing_shown(tabs))), typing_shown(
            tabs
        )
        for tab in tabs:
            expect(widget(tab).get_by_test_id("parley-status")).to_have_text(
                "You are chatting with Alice"
            )
        composer.fill("")
        for tab in tabs:
            expect(widget(tab).get_by_test_id("parley-typing")).to_be_hidden()

        # --- unread counts: the same in every tab, and read in one is read in all ----------
        for tab in tabs:
            set_panel(tab, False)
        answer = "We have them in brass and in steel."
        composer.fill(answer)
        composer.press("Enter")
        everything.append(answer)
        for tab in tabs:
            expect(tab.get_by_test_id("parley-unread")).to_have_text("1")
        set_panel(second, True)
        for tab in tabs:
            expect(tab.get_by_test_id("parley-unread")).to_be_hidden()
            expect(transcript(tab, "parley-messages")).to_have_text(everything)
        for tab in (first, third):
            set_panel(tab, True)

        # --- the second tab writes: the first and third show it -----------------------------
        everything.append("From the second tab: brass, please.")
        write(second, everything[-1])
        for tab in tabs:
            expect(transcript(tab, "parley-messages")).to_have_text(everything)
        assert list(one_socket_each(1).values()) == [1]

        # --- the first tab (the SharedWorker's maker, or the leader) closes -----------------
        first.close()
        everything.append("Written as the first tab closed.")
        write(second, everything[-1])
        everything.append("And one from the third tab.")
        write(third, everything[-1])
        for tab in (second, third):
            expect(transcript(tab, "parley-messages")).to_have_text(everything)
            expect(widget(tab).get_by_test_id("parley-pending").locator("li")).to_have_count(0)
            expect(widget(tab).get_by_test_id("parley-banner")).to_be_hidden()
        expect(transcript(console, "transcript")).to_have_text(everything)
        # A new leader's socket replaced the old one (the worker's stayed).
        assert list(one_socket_each(1).values()) == [1]

        # --- the second tab (now the leader, in that mode) goes to another page -------------
        open_widget(second, url.replace("/shop/", "/shop/hinges/"))
        expect(transcript(second, "parley-messages")).to_have_text(everything)
        everything.append("Back from the hinges page.")
        write(second, everything[-1])
        for tab in (second, third):
            expect(transcript(tab, "parley-messages")).to_have_text(everything)
        expect(transcript(console, "transcript")).to_have_text(everything)
        assert list(one_socket_each(1).values()) == [1]
    finally:
        customer.close()
        agent.close()

    rows = list(Message.objects.order_by("seq").values_list("seq", "body"))
    assert rows == list(enumerate(everything, start=1))  # nothing lost, nothing twice
    assert errors == []


def test_tabs_of_two_host_sites_keep_a_socket_each(
    asgi_server,
    window,
    shop,  # noqa: F811
    host_page,  # noqa: F811
):
    expect.set_options(timeout=30_000)  # a bound on a failing run, not a speed
    own = f"{asgi_server.url}/demo/{shop.key}/"  # the frame is first-party here
    partner = partner_page(host_page, asgi_server.url, shop.key)
    tabs = [window.new_page() for _ in range(3)]
    try:
        open_widget(tabs[0], own)
        open_widget(tabs[1], partner)
        open_widget(tabs[2], partner)
        write(tabs[0], "Asked on the shop's own site.")
        write(tabs[1], "Asked on the partner's site.")
        expect(transcript(tabs[0], "parley-messages")).to_have_text(
            ["Asked on the shop's own site."]
        )
        for tab in tabs[1:]:
            expect(transcript(tab, "parley-messages")).to_have_text(
                ["Asked on the partner's site."]
            )
        # Two partitions: two visitors (their own tokens), one socket each.
        assert list(one_socket_each(2).values()) == [1, 1]
    finally:
        for tab in tabs:
            tab.close()


def test_without_storage_for_the_frame_each_tab_chats_on_its_own_socket(
    asgi_server,
    browser,
    shop,  # noqa: F811
    host_page,  # noqa: F811
):
    """Chromium with partitioning off refuses a third-party frame its storage (as do
    browsers that block third-party storage): the widget still works, each tab a visitor
    of its own page with its own socket, since nothing can tell two tabs they are one."""
    expect.set_options(timeout=30_000)  # a bound on a failing run, not a speed
    partner = partner_page(host_page, asgi_server.url, shop.key)
    context = browser.new_context(viewport=VIEWPORT)
    errors: list[str] = []
    try:
        tabs = [watch_errors(context.new_page(), errors) for _ in range(2)]
        for i, tab in enumerate(tabs):
            open_widget(tab, partner)
            assert widget_frame(tab).evaluate("window.parleySharedSocket") is False
            write(tab, f"Tab {i} has no storage.")
            expect(transcript(tab, "parley-messages")).to_have_text([f"Tab {i} has no storage."])
        assert list(one_socket_each(2).values()) == [1, 1]
    finally:
        context.close()
    assert errors == []
