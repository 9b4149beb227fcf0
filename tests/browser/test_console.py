"""The agent console's tools in a real Chromium (issue 11): internal notes, and XSS
payloads staying inert in every panel. Helpers and fixtures come from test_chat_e2e."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import Message, Note
from tests.browser import test_chat_e2e as e2e
from tests.browser.test_chat_e2e import (
    VIEWPORT,
    login,
    open_widget,
    transcript,
    watch_errors,
    write,
)

pytestmark = pytest.mark.browser
shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def test_an_internal_note_stays_with_the_agents(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        first = "My refund never came."
        write(tab, first)
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("waiting-list").get_by_test_id("conversation-take").click()
        expect(console.get_by_test_id("composer")).to_be_visible()

        console.get_by_test_id("composer-mode-note").click()
        expect(console.get_by_test_id("composer")).to_have_attribute("data-mode", "note")
        secret = f"Finance approved the refund {XSS}"
        composer = console.get_by_test_id("composer-input")
        composer.fill(secret)
        composer.press("Enter")
        expect(composer).to_have_value("")
        note = console.get_by_test_id("transcript-note")
        expect(note).to_have_count(1)
        expect(note.get_by_test_id("transcript-note-body")).to_have_text(secret)
        expect(note).to_contain_text("only agents see this")
        console.screenshot(path="/tmp/parley_e2e_console_note.png")

        # Back to replies: the customer gets the reply, never the note.
        console.get_by_test_id("composer-mode-reply").click()
        answer = "I'm on it: the refund is on its way."
        composer.fill(answer)
        composer.press("Enter")
        expect(transcript(tab, "parley-messages").last).to_have_text(answer)
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).not_to_contain_text(
            "Finance approved"
        )
        tab.reload()
        expect(transcript(tab, "parley-messages").last).to_have_text(answer)
        expect(e2e.widget(tab).get_by_test_id("parley-messages")).not_to_contain_text(
            "Finance approved"
        )

        # A reload of the console fetches the note again, in its place.
        console.reload()
        expect(note.get_by_test_id("transcript-note-body")).to_have_text(secret)
        expect(console.get_by_test_id("transcript").locator("img, script")).to_have_count(0)
        assert console.evaluate("window.__xss") is None
    finally:
        customer.close()
        agent.close()
    assert Note.objects.get().body == secret
    assert not Message.objects.filter(body__contains="Finance approved").exists()
    assert errors == []
