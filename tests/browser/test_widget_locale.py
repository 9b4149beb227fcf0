"""Parley.setLocale() in the middle of a bot conversation, in a real Chromium: the widget
redraws what it can in the new language (its chrome, the "Talk to someone" button it knows,
and every button of a flow that has the language: they carry `labels`, docs/protocol.md
"Bot messages"), a click on a redrawn button still answers the bot, and the reloaded
widget's session moves the conversation to the new language, so the bot's next question
comes in it."""

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
        # The demo flow has French: its own buttons are redrawn from their `labels`.
        expect(buttons).to_have_text(
            ["Une commande", "Un produit", "Autre chose", "Parler à quelqu'un"]
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


TWO_LANGUAGES = {
    "start": "pick",
    "nodes": {
        "pick": {
            "type": "choice",
            "attribute": "topic",
            "text": {"en": "Order or product?", "fr": "Commande ou produit ?"},
            "buttons": [
                {"id": "order", "label": {"en": "An order", "fr": "Une commande"}, "next": "ask"},
                {"id": "product", "label": {"en": "A product", "fr": "Un produit"}, "next": "ask"},
            ],
        },
        "ask": {
            "type": "input",
            "attribute": "details",
            "text": {"en": "Tell us more, please.", "fr": "Dites-nous en plus, s'il vous plaît."},
            "next": "bye",
        },
        "bye": {"type": "handoff", "text": {"en": "Passing you on.", "fr": "Je vous passe."}},
    },
}


def test_set_locale_redraws_a_two_language_flow_and_the_bot_follows(asgi_server, browser, shop):  # noqa: F811
    from bots.services import flow_create, flow_publish
    from chat.models import Conversation, Message

    flow = flow_create(name="Two languages", graph=TWO_LANGUAGES)
    flow_publish(flow=flow, published_by="test")
    shop.default_flow = flow
    shop.save(update_fields=["default_flow"])
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT, locale="en-US")
    try:
        page = watch_errors(context.new_page(), errors)
        open_widget(page, f"{asgi_server.url}/demo/{shop.key}/")
        chat = widget(page)
        bot = chat.get_by_test_id("parley-messages").locator("li[data-kind=bot]")
        expect(bot.first).to_contain_text("Order or product?")
        buttons = chat.get_by_test_id("parley-choices").locator("visible=true")
        expect(buttons.get_by_test_id("parley-choice")).to_have_text(["An order", "A product"])

        page.evaluate("Parley.setLocale('fr'); Parley.open()")
        chat = widget(page)  # a new frame, in French
        buttons = (
            chat.get_by_test_id("parley-choices")
            .locator("visible=true")
            .get_by_test_id("parley-choice")
        )
        # The question already asked keeps its text; its buttons speak French now.
        expect(buttons).to_have_text(["Une commande", "Un produit"])
        expect(chat.get_by_test_id("parley-messages")).to_contain_text("Order or product?")
        buttons.first.click()
        bot = chat.get_by_test_id("parley-messages").locator("li[data-kind=bot]")
        # The bot's next question is in French: the reload reported the locale.
        expect(bot.last).to_contain_text("Dites-nous en plus, s'il vous plaît.")
        page.screenshot(path="/tmp/ui-shots/widget_set_locale_two_languages.png")
    finally:
        context.close()
    conversation = Conversation.objects.get(site=shop)
    assert conversation.language == "fr"
    clicked = Message.objects.get(conversation=conversation, body="Une commande")
    assert clicked.data.get("choice") == "order"
    assert errors == []
