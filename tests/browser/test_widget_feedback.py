"""After an agent resolves the chat, in Chromium: the customer rates it (stored, told to the
agent's console) and gets the transcript by email (the server's file email backend)."""

from __future__ import annotations

from email import message_from_bytes

import pytest
from playwright.sync_api import expect

from chat.models import CsatRating, Customer
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
        # The router offers it to alice as she comes online (an offered chat is not listed
        # again under Waiting): she accepts.
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
        console.get_by_test_id("composer-input").fill("Yes, from €25 a day.")
        console.get_by_test_id("composer-input").press("Enter")
        console.get_by_test_id("chat-resolve").click()

        chat = widget(tab)
        csat = chat.get_by_test_id("parley-csat")
        expect(csat).to_contain_text("How was your chat with Alice?")
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


def test_the_pre_chat_form_comes_first_and_its_answers_reach_the_customer(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    shop.prechat_form = {
        "fields": [
            {"name": "name", "required": True},
            {"name": "email", "required": True},
            {"name": "consent", "required": True},
            {"name": "order", "type": "text", "label": "Order number"},
        ]
    }
    shop.save(update_fields=["prechat_form"])
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(context.new_page(), errors)
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        chat = widget(tab)
        form = chat.get_by_test_id("parley-prechat")
        expect(form).to_be_visible()
        expect(chat.get_by_test_id("parley-input")).to_be_hidden()  # the form first
        expect(form).to_contain_text("Order number (optional)")
        chat.get_by_test_id("parley-prechat-name").fill("Zoé Martin")
        chat.get_by_test_id("parley-prechat-email").fill("zoe@example.com")
        chat.get_by_test_id("parley-prechat-send").click()
        expect(form).to_be_visible()  # consent is required: the browser holds the form
        chat.get_by_test_id("parley-prechat-consent").check()
        chat.get_by_test_id("parley-prechat-order").fill("DIY-42")
        tab.screenshot(path="/tmp/parley_e2e_widget_prechat.png")
        chat.get_by_test_id("parley-prechat-send").click()
        expect(form).to_have_count(0)
        write(tab, "Where is my parcel?")
        expect(
            chat.get_by_test_id("parley-messages").locator("li[data-seq='1']")
        ).to_have_attribute("data-status", "sent")
        tab.reload()  # asked once
        expect(chat.get_by_test_id("parley-input")).to_be_visible()
        expect(chat.get_by_test_id("parley-prechat")).to_have_count(0)

        # The agent reads the answers in the context panel, under their own heading and
        # labels (not as raw attributes "collected by the bot").
        console = watch_errors(agent.new_page(), errors)
        login(console, asgi_server.url)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        form = console.get_by_test_id("context-form-section")
        expect(form).to_be_visible()
        expect(console.get_by_test_id("context-form-consent")).to_contain_text("Given")
        expect(console.get_by_test_id("context-form")).to_contain_text("Order number")
        expect(console.get_by_test_id("context-form")).to_contain_text("DIY-42")
        expect(console.get_by_test_id("context-collected-section")).to_be_hidden()
    finally:
        context.close()
        agent.close()
    customer = Customer.objects.get()
    assert (customer.name, customer.email) == ("Zoé Martin", "zoe@example.com")
    assert customer.attributes["prechat"] == {"order": "DIY-42"}
    assert customer.attributes["consent"]["given"] is True
    assert errors == []


def test_an_offline_message_asks_where_to_answer(asgi_server, browser, shop):  # noqa: F811
    expect.set_options(timeout=15_000)
    shop.default_queue.business_hours = {"mon": []}  # closed all week
    shop.default_queue.save(update_fields=["business_hours"])
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        write(tab, "Can I return a drill without the box?")
        chat = widget(tab)
        expect(chat.get_by_test_id("parley-queue")).to_contain_text("We're closed right now")
        chat.get_by_test_id("parley-offline-email").fill("zoe@example.com")
        chat.get_by_test_id("parley-offline-send").click()
        expect(chat.get_by_test_id("parley-offline-sent")).to_contain_text("zoe@example.com")
    finally:
        context.close()
    assert Customer.objects.get().email == "zoe@example.com"


def test_an_address_the_visitor_gave_in_the_pre_chat_form_is_not_asked_again(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    shop.prechat_form = {"fields": [{"name": "email", "required": True}]}
    shop.save(update_fields=["prechat_form"])
    shop.default_queue.business_hours = {"mon": []}  # closed all week: the offline form
    shop.default_queue.save(update_fields=["business_hours"])
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        chat = widget(tab)
        form = chat.get_by_test_id("parley-prechat")
        form.locator("input").fill("ana@example.com")
        chat.get_by_test_id("parley-prechat-send").click()
        expect(form).to_have_count(0)
        write(tab, "Can I return a drill without the box?")
        expect(chat.get_by_test_id("parley-queue")).to_contain_text("We're closed right now")
        # Already filled in: one click sends it.
        expect(chat.get_by_test_id("parley-offline-email")).to_have_value("ana@example.com")
    finally:
        context.close()
