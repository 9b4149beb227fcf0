"""Parley.setLocale() in the middle of a bot conversation, in a real Chromium: the widget
redraws what it can in the new language (its chrome, the "Talk to someone" button it knows,
and any button that carries variants), and a click on a redrawn button still answers the
bot. The flow's own buttons arrive with one label, in the conversation's language
(docs/protocol.md "Bot messages"): those stay as the server wrote them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    bot_shop,
    open_widget,
    shop,
    watch_errors,
    widget,
    write,
)

pytestmark = pytest.mark.browser
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u25f7]")


def test_set_locale_mid_chat_redraws_the_bot_buttons(asgi_server, browser, bot_shop):  # noqa: F811
    from chat.models import Conversation, Message

    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        page = watch_errors(context.new_page(), errors)
        open_widget(page, f"{base}/demo/{bot_shop.key}/")
        chat = widget(page)
        bot = chat.get_by_test_id("parley-messages").locator("li[data-kind=bot]")
        expect(bot.nth(1)).to_contain_text("Is your question about an order or a product?")
        # An answer the bot does not understand: it asks again, with a way to a person.
        write(page, "zzz qqq")
        choices = chat.get_by_test_id("parley-choices").locator("visible=true")
        buttons = choices.get_by_test_id("parley-choice")
        expect(buttons).to_have_text(["An order", "A product", "Something else", "Talk to someone"])
        # The composer's icon buttons are drawn, not emoji, and say what they do.
        for testid, name in (("parley-emoji", "Emoji"), ("parley-attach", "Attach a file")):
            button = chat.get_by_test_id(testid)
            expect(button.locator("svg")).to_have_count(1)
            expect(button).to_have_attribute("aria-label", name)
            assert not EMOJI.search(button.inner_text())

        page.evaluate("Parley.setLocale('fr'); Parley.open()")
        chat = widget(page)  # a new frame, in French
        expect(chat.get_by_test_id("parley-input")).to_have_attribute(
            "placeholder", "Écrivez un message…"
        )
        expect(chat.get_by_test_id("parley-emoji")).to_have_attribute("aria-label", "Émoji")
        expect(chat.get_by_test_id("parley-attach")).to_have_attribute(
            "aria-label", "Joindre un fichier"
        )
        buttons = (
            chat.get_by_test_id("parley-choices")
            .locator("visible=true")
            .get_by_test_id("parley-choice")
        )
        # The button the widget knows is in French; the flow's own came in English only.
        expect(buttons).to_have_text(
            ["An order", "A product", "Something else", "Parler à quelqu'un"]
        )
        page.screenshot(path="/tmp/ui-shots/widget_set_locale_fr.png")

        buttons.last.click()
        mine = chat.get_by_test_id("parley-messages").locator("li.mine")
        expect(mine.last).to_contain_text("Parler à quelqu'un")
        expect(chat.get_by_test_id("parley-status")).to_have_text("En attente d'un conseiller…")
    finally:
        context.close()
    conversation = Conversation.objects.get(site=bot_shop)
    assert conversation.status in ("queued", "offered", "assigned")  # handed to a person
    clicked = Message.objects.filter(conversation=conversation, body="Parler à quelqu'un").get()
    assert clicked.data.get("choice") == "parley:person"
    assert errors == []
