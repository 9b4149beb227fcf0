"""Who the widget talks for, in Chromium: a page that names nobody after an identified
customer's page never shows (nor writes into) that customer's conversation; and on a bot
site a resolved chat keeps its rating card across a reload instead of a new greeting."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import expect

from chat import services
from chat.models import Conversation, Customer
from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    bot_shop,
    login,
    open_widget,
    shop,
    watch_errors,
    widget,
    widget_frame,
    write,
)

pytestmark = pytest.mark.browser


def poll(page, read, timeout_s: float = 15.0):
    """The database is not Playwright's to wait on: read until truthy."""
    for _ in range(int(timeout_s * 10)):
        value = read()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError("timed out")


def test_a_page_that_names_nobody_after_a_logout_starts_a_new_visitor(asgi_server, browser, shop):  # noqa: F811
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = watch_errors(context.new_page(), errors)
        page.goto(f"{base}/demo/{shop.key}/")
        page.wait_for_function("window.Parley && window.Parley.loaded")
        signature = services.identity_hash(site=shop, external_id="user-42")
        page.evaluate(
            "(hash) => Parley.identify({externalId: 'user-42', userHash: hash, name: 'Zoé'})",
            signature,
        )
        page.evaluate("Parley.open()")
        expect(widget(page).get_by_test_id("parley-panel")).to_be_visible()
        write(page, "Secret of user-42: my card ends 9999")
        known = poll(page, lambda: Customer.objects.filter(external_id="user-42").first())
        poll(page, lambda: known.conversations.filter(last_seq__gte=1).exists())
        messages = widget(page).get_by_test_id("parley-messages")
        expect(messages).to_contain_text("my card ends 9999")

        # Logged out: the shop's pages stop naming the customer.
        page.evaluate("Parley.identify({})")
        expect(messages).not_to_contain_text("my card ends 9999")
        write(page, "Hello, a question about paint")
        fresh = poll(page, lambda: Customer.objects.filter(site=shop).exclude(pk=known.pk).first())
        assert fresh.external_id is None and not fresh.identity_verified
        assert poll(page, lambda: fresh.conversations.filter(last_seq__gte=1).exists())
        # A reload on that page stays the new visitor.
        page.reload()
        open_widget(page, page.url)
        expect(widget(page).get_by_test_id("parley-messages")).to_contain_text("paint")
        expect(widget(page).get_by_test_id("parley-messages")).not_to_contain_text("9999")
    finally:
        context.close()
    bodies = list(known.conversations.get().messages.values_list("body", flat=True))
    assert bodies == ["Secret of user-42: my card ends 9999"]
    assert errors == []


def test_on_a_bot_site_a_resolved_chat_keeps_its_rating_card_across_a_reload(
    asgi_server,
    browser,
    bot_shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{bot_shop.key}/")
        chat = widget(tab)
        expect(chat.locator("li[data-kind=bot]")).to_have_count(2)  # the greeting
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        conversation = Customer.objects.get().conversations.get()
        # A CRM's word takes it from the bot (the server's own routing offers it to alice).
        _key, raw = services.api_key_create(name="e2e", site=bot_shop)
        request = urllib.request.Request(
            f"{base}/api/v1/conversations/{conversation.pk}/handoff/",
            data=b"{}",
            headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        console.get_by_test_id("chat-resolve").click()
        csat = chat.get_by_test_id("parley-csat")
        expect(csat).to_contain_text("How was your chat with Alice?")

        tab.reload()
        open_widget(tab, tab.url)
        expect(chat.get_by_test_id("parley-csat")).to_contain_text("How was your chat with Alice?")
        # The card shows once the socket's hello and resume are done, when the old widget
        # had already sent its start; a moment more for that start's answer, then the
        # page must still be the resolved chat, and nothing new was opened.
        tab.wait_for_timeout(1500)
        expect(chat.get_by_test_id("parley-csat")).to_be_visible()
        expect(chat.get_by_test_id("parley-transcript")).to_be_visible()
        assert Conversation.objects.filter(customer__site=bot_shop).count() == 1

        # Writing starts the next conversation.
        write(tab, "One more question")
        poll(tab, lambda: Conversation.objects.filter(customer__site=bot_shop).count() == 2)
    finally:
        customer.close()
        agent.close()
    assert errors == []
