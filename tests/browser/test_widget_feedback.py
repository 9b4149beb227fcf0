"""After an agent resolves the chat, in Chromium: the customer rates it (stored, told to the
agent's console) and gets the transcript by email (the server's file email backend)."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from playwright.sync_api import expect

from chat.models import CsatRating
from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    login,
    open_widget,
    shop,
    watch_errors,
    widget,
    write,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def server_env(tmp_path):
    return {"EMAIL_URL": f"filemail:///{tmp_path}/mail"}


def test_a_resolved_chat_is_rated_and_its_transcript_emailed(
    asgi_server,
    browser,
    shop,  # noqa: F811
    server_env,
    tmp_path,
):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Do you rent floor sanders?")
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("waiting-list").get_by_test_id("conversation-take").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        console.get_by_test_id("composer-input").fill("Yes, from €25 a day.")
        console.get_by_test_id("composer-input").press("Enter")
        console.get_by_test_id("chat-resolve").click()

        chat = widget(tab)
        csat = chat.get_by_test_id("parley-csat")
        expect(csat).to_contain_text("How was your chat with Alice Martin?")
        chat.locator("label[for=pw-star-4]").click()
        chat.get_by_test_id("parley-csat-comment").fill("Quick answer, thanks")
        chat.get_by_test_id("parley-csat-send").click()
        expect(chat.get_by_test_id("parley-csat-thanks")).to_have_text("Thank you for your rating!")
        chat.get_by_test_id("parley-transcript-email").fill("zoe@example.com")
        chat.get_by_test_id("parley-transcript-send").click()
        expect(chat.get_by_test_id("parley-transcript-sent")).to_contain_text("zoe@example.com")
        tab.screenshot(path="/tmp/parley_e2e_widget_csat.png")
        # A reload does not ask again.
        tab.reload()
        expect(chat.get_by_test_id("parley-transcript")).to_be_visible()
        expect(chat.get_by_test_id("parley-csat")).to_have_count(0)
    finally:
        customer.close()
        agent.close()
    rating = CsatRating.objects.get()
    assert (rating.score, rating.comment, rating.agent.username) == (
        4, "Quick answer, thanks", "alice"
    )  # fmt: skip
    (sent,) = list((tmp_path / "mail").iterdir())
    mail = message_from_bytes(sent.read_bytes().split(b"\n" + b"-" * 79)[0])
    assert mail["To"] == "zoe@example.com"
    body = mail.get_payload(decode=True).decode(mail.get_content_charset() or "utf-8")
    assert "Do you rent floor sanders?" in body and "Yes, from €25 a day." in body
    assert errors == []
