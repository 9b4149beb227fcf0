"""The customer widget in Chromium: its layout on a desktop and on a phone, keyboard use,
the host page's JS API, the token out of the host page's reach, the interface in French.

Each test drives the real ASGI app (daphne) and waits only through Playwright's
auto-retrying assertions or wait_for_function; nothing about speed is asserted.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from chat import services
from chat.models import Customer
from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    bot_shop,
    open_widget,
    shop,
    watch_errors,
    widget,
    widget_frame,
    write,
)
from tests.browser.test_embed import host_page, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def launcher_focused(page: Page) -> bool:
    return page.evaluate(
        """() => {
            const host = document.querySelector("[data-testid=parley-widget]");
            const active = host.shadowRoot.activeElement;
            return Boolean(active && active.dataset.testid === "parley-launcher");
        }"""
    )


def test_on_a_phone_the_panel_is_full_screen_and_the_keyboard_stays_inside(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = watch_errors(context.new_page(), errors)
        page.goto(f"{asgi_server.url}/demo/{shop.key}/")
        launcher = page.get_by_test_id("parley-launcher")
        box = launcher.bounding_box()
        # A small button in the corner; nothing else of the widget covers the page.
        assert box["width"] <= 48 and box["x"] + box["width"] <= PHONE["width"] - 8
        host_box = page.get_by_test_id("parley-widget").bounding_box()
        assert host_box is None or host_box["height"] == 0
        launcher.click()
        panel = widget(page).get_by_test_id("parley-panel")
        expect(panel).to_be_visible()
        frame = page.get_by_test_id("parley-frame")
        assert frame.bounding_box() == {"x": 0, "y": 0, **PHONE}
        expect(launcher).to_be_hidden()  # the page shows nothing under or over the panel
        assert page.evaluate("getComputedStyle(document.documentElement).overflow") == "hidden"
        page.screenshot(path="/tmp/parley_e2e_widget_phone.png")

        # Keyboard only: focus starts in the composer and Tab cycles inside the panel.
        expect(widget(page).get_by_test_id("parley-input")).to_be_focused()
        inside = widget_frame(page)
        for _ in range(6):
            page.keyboard.press("Tab")
            assert inside.evaluate(
                "document.querySelector('[data-testid=parley-panel]').contains(document.activeElement)"
            )
        page.keyboard.press("Shift+Tab")
        assert inside.evaluate(
            "document.querySelector('[data-testid=parley-panel]').contains(document.activeElement)"
        )
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        expect(launcher).to_be_visible()
        assert launcher_focused(page)
        assert page.evaluate("getComputedStyle(document.documentElement).overflow") != "hidden"
    finally:
        context.close()
    assert errors == []


def test_the_queue_banner_hides_no_message_and_the_status_is_not_cut_off(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        open_widget(page, f"{asgi_server.url}/demo/{shop.key}/")
        for n in range(1, 9):
            write(page, f"Question number {n}: do you sell long screws?")
        expect(widget(page).get_by_test_id("parley-queue")).to_be_visible()
        last = widget(page).get_by_test_id("parley-messages").locator("li[data-seq='8']")
        expect(last).to_have_attribute("data-status", "sent")
        # The last message is fully inside the scrolled area, below the banner.
        widget_frame(page).wait_for_function(
            """() => {
                const scroll = document.querySelector("[data-testid=parley-scroll]");
                const last = document.querySelector("[data-testid=parley-messages] li:last-child");
                return last && last.getBoundingClientRect().bottom <= scroll.getBoundingClientRect().bottom + 1;
            }"""
        )
        # The emoji picker: a pick goes into the composer, Escape closes it.
        chat = widget(page)
        chat.get_by_test_id("parley-input").fill("Thanks ")
        chat.get_by_test_id("parley-emoji").click()
        grid = chat.get_by_test_id("parley-emoji-grid")
        expect(grid).to_be_visible()
        grid.get_by_role("button", name="👍").click()
        expect(grid).to_be_hidden()
        expect(chat.get_by_test_id("parley-input")).to_have_value("Thanks 👍")
        chat.get_by_test_id("parley-emoji").click()
        page.keyboard.press("Escape")
        expect(grid).to_be_hidden()
        expect(chat.get_by_test_id("parley-panel")).to_be_visible()
        chat.get_by_test_id("parley-input").press("Enter")
        expect(chat.get_by_test_id("parley-messages").locator("li[data-seq='9']")).to_contain_text(
            "Thanks 👍"
        )
        status = widget(page).get_by_test_id("parley-status")
        expect(status).to_have_text("Waiting for an agent…")
        assert status.evaluate(
            "p => p.scrollWidth <= p.clientWidth && p.scrollHeight <= p.clientHeight"
        )
        page.screenshot(path="/tmp/parley_e2e_widget_queue.png")
    finally:
        context.close()


API_EVENTS = """
window.parleyEvents = [];
window.Parley = [
  ["on", "open", () => parleyEvents.push(["open"])],
  ["on", "close", () => parleyEvents.push(["close"])],
  ["on", "unread", (n) => parleyEvents.push(["unread", n])],
  ["on", "message", (m) => parleyEvents.push(["message", m.kind, m.body])],
];
"""


def post_system_message(base: str, target, conversation_id: int, body: str) -> None:
    _key, raw = services.api_key_create(name="e2e", site=target)
    request = urllib.request.Request(
        f"{base}/api/v1/conversations/{conversation_id}/system-messages/",
        data=json.dumps({"body": body, "client_msg_id": "e2e-1"}).encode(),
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_the_host_page_drives_the_widget_through_its_js_api(asgi_server, browser, bot_shop):  # noqa: F811
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    context.add_init_script(API_EVENTS)
    try:
        page = watch_errors(context.new_page(), errors)
        page.goto(f"{base}/demo/{bot_shop.key}/")
        page.wait_for_function("window.Parley && window.Parley.loaded")
        page.evaluate("Parley.open()")
        panel = widget(page).get_by_test_id("parley-panel")
        expect(panel).to_be_visible()
        bot = widget(page).get_by_test_id("parley-messages").locator("li[data-kind=bot]")
        expect(bot).to_have_count(2)  # the greeting and the first question, on open
        page.wait_for_function("parleyEvents.filter((e) => e[0] === 'message').length === 2")
        assert page.evaluate("parleyEvents[0]") == ["open"]
        assert page.evaluate("Parley.isOpen") is True

        page.evaluate("Parley.close()")
        expect(page.get_by_test_id("parley-frame")).to_be_hidden()
        conversation_id = Customer.objects.get().conversations.get().pk
        post_system_message(base, bot_shop, conversation_id, "Your order DIY-42 has shipped.")
        badge = page.get_by_test_id("parley-unread")
        expect(badge).to_have_text("1")
        expect(page.get_by_test_id("parley-launcher")).to_have_attribute(
            "aria-label", "Open chat, 1 unread"
        )
        events = page.evaluate("parleyEvents")
        assert ["close"] in events and ["unread", 1] in events
        assert ["message", "system", "Your order DIY-42 has shipped."] in events

        # Identify: a signed external id makes this visitor that customer.
        signature = services.identity_hash(site=bot_shop, external_id="user-42")
        page.evaluate(
            "(hash) => Parley.identify({externalId: 'user-42', userHash: hash, name: 'Zoé', "
            "email: 'zoe@example.com'})",
            signature,
        )
        for _ in range(150):  # the database is not Playwright's to wait on: poll it
            customer = Customer.objects.filter(external_id="user-42").first()
            if customer is not None:
                break
            page.wait_for_timeout(100)
        assert customer is not None and customer.identity_verified
        assert (customer.name, customer.email) == ("Zoé", "zoe@example.com")

        # Another language, and another page of the shop, which names the customer again
        # (a page that names nobody is a new visitor: test_widget_visitors.py): the
        # conversation follows.
        page.goto(f"{base}/demo/{bot_shop.key}/?section=paint")
        page.wait_for_function("window.Parley && window.Parley.loaded")
        page.evaluate(
            "(hash) => Parley.identify({externalId: 'user-42', userHash: hash})", signature
        )
        page.evaluate("Parley.setLocale('fr'); Parley.open()")
        expect(widget(page).get_by_test_id("parley-input")).to_have_attribute(
            "placeholder", "Écrivez un message…"
        )
        expect(widget(page).get_by_test_id("parley-messages")).to_contain_text(
            "Your order DIY-42 has shipped."
        )
    finally:
        context.close()
    assert errors == []


def test_a_host_page_script_cannot_read_the_visitor_token(asgi_server, browser, site, host_page):  # noqa: F811
    expect.set_options(timeout=15_000)
    server = asgi_server.url
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>'
        f'<body><h1>Shop</h1><script src="{server}/static/parley/widget.js" '
        f'data-site="{site.key}" async></script></body></html>'
    )
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(host_page(html, "frame-ancestors 'none'"))
        open_widget(page, page.url)
        write(page, "Is my token safe?")
        expect(
            widget(page).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
        # The token is in the frame's storage, on Parley's origin...
        token = widget_frame(page).evaluate(f"localStorage.getItem('parley:{site.key}:token')")
        assert token and len(token) > 20
        # ...and a script of the host page reaches neither it nor the frame's document.
        seen = page.evaluate(
            """() => {
                const found = [];
                for (let i = 0; i < localStorage.length; i++) found.push(localStorage.key(i));
                for (let i = 0; i < sessionStorage.length; i++) found.push(sessionStorage.getItem(sessionStorage.key(i)));
                const frame = document.querySelector("[data-testid=parley-widget]").shadowRoot.querySelector("iframe");
                let storage = "readable", doc = "readable";
                try { frame.contentWindow.localStorage.length; } catch (e) { storage = e.name; }
                try { frame.contentWindow.document.body; } catch (e) { doc = e.name; }
                return {found, storage, doc, cookie: document.cookie};
            }"""
        )
        assert seen["storage"] == "SecurityError" and seen["doc"] == "SecurityError"
        assert not any(token in str(v) for v in seen["found"])
        assert token not in seen["cookie"]

        # A page that claims another origin does not get the frame rendered at all.
        page.evaluate(
            """([server, key]) => {
                const f = document.createElement("iframe");
                f.id = "impostor";
                f.src = server + "/widget/frame/?site=" + key + "&origin=https://shop.example";
                document.body.appendChild(f);
            }""",
            [server, site.key],
        )
        impostor = page.frame_locator("#impostor")
        page.wait_for_function(
            "() => { const f = document.querySelector('#impostor'); return f && f.contentWindow; }"
        )
        expect(impostor.get_by_test_id("parley-panel")).to_have_count(0)
    finally:
        context.close()


def test_the_interface_in_french(asgi_server, browser, bot_shop):  # noqa: F811
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE")  # the page's lang wins
    try:
        page = watch_errors(context.new_page(), errors)
        open_widget(page, f"{asgi_server.url}/demo/{bot_shop.key}/?lang=fr")
        chat = widget(page)
        expect(page.get_by_test_id("parley-launcher")).to_have_attribute(
            "aria-label", "Fermer la discussion"
        )
        expect(chat.get_by_test_id("parley-input")).to_have_attribute(
            "placeholder", "Écrivez un message…"
        )
        expect(chat.get_by_test_id("parley-close")).to_have_attribute(
            "aria-label", "Fermer la discussion"
        )
        expect(chat.get_by_test_id("parley-status")).to_have_text(
            "Notre assistant est là pour vous aider"
        )
        question = "Votre question concerne-t-elle une commande ou un produit ?"
        bot = chat.get_by_test_id("parley-messages").locator("li[data-kind=bot]")
        expect(bot.nth(1).get_by_test_id("parley-message-body")).to_have_text(question)
        write(page, "Bonjour")
        expect(bot.last.get_by_test_id("parley-message-body")).to_have_text(f"Bonjour ! {question}")
        # Right-to-left text shows right to left in a left-to-right interface.
        write(page, "مرحبا، أين طلبي؟")
        mine = chat.get_by_test_id("parley-messages").locator("li.mine").last
        body = mine.get_by_test_id("parley-message-body")
        expect(body).to_have_text("مرحبا، أين طلبي؟")
        assert body.evaluate("b => getComputedStyle(b).direction") == "rtl"
        assert widget_frame(page).evaluate("document.documentElement.lang") == "fr"
        # A timeline line (stored in English for the agents) reads in French here: the
        # conversation resolved over the API by a key ("Conversation resolved.").
        import json
        import urllib.request

        from chat.models import Conversation
        from chat.services import api_key_create

        _key, raw = api_key_create(name="ops", site=bot_shop)
        conversation = Conversation.objects.get(site=bot_shop)
        request = urllib.request.Request(
            f"{asgi_server.url}/api/v1/conversations/{conversation.pk}/resolve/",
            data=json.dumps({}).encode(),
            headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=15) as resp:
            assert resp.status == 200
        line = chat.get_by_test_id("parley-messages").locator("li[data-kind=event]").last
        expect(line).to_have_text("Conversation résolue.")
        page.screenshot(path="/tmp/parley_e2e_widget_fr.png")
    finally:
        context.close()
    assert errors == []
