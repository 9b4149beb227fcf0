"""Attachments in a real Chromium: a customer attaches an image in the widget and the agent
sees its thumbnail in the console (and answers with a file); the widget refuses a wrong
type, an oversize file and a polyglot with a visible message."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from playwright.sync_api import expect

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


def png_bytes(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 140, 90)).save(out, format="PNG")
    return out.getvalue()


def test_a_customers_image_reaches_the_agents_console_as_a_thumbnail(asgi_server, browser, shop):  # noqa: F811
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "My drill arrived broken, here is a photo.")
        frame = widget(tab)
        frame.get_by_test_id("parley-file").set_input_files(
            {"name": "drill.png", "mimeType": "image/png", "buffer": png_bytes()}
        )
        mine = frame.get_by_test_id("parley-messages").get_by_test_id("parley-attachment-image")
        expect(mine).to_have_count(1)
        expect(mine).to_have_attribute("alt", "drill.png")
        expect(frame.get_by_test_id("parley-attach-error")).to_be_hidden()

        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        offer = console.get_by_test_id("offer")
        expect(offer).to_have_count(1)
        offer.get_by_test_id("offer-accept").click()
        thumb = console.get_by_test_id("transcript").get_by_test_id("transcript-attachment-image")
        expect(thumb).to_have_count(1)
        expect(thumb).to_have_attribute("alt", "drill.png")
        # The thumbnail really loaded (a signed link Chromium could fetch and decode).
        console.wait_for_function(
            "() => { const i = document.querySelector('[data-testid=transcript-attachment-image]');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        # The agent answers with a file (staged, then sent); the customer gets a link to it.
        console.get_by_test_id("composer-file").set_input_files(
            {
                "name": "returns-label.pdf",
                "mimeType": "application/pdf",
                "buffer": b"%PDF-1.4\n%%EOF\n",
            }
        )
        expect(console.get_by_test_id("composer-staged-file")).to_have_count(1)
        console.get_by_test_id("composer-send").click()
        link = frame.get_by_test_id("parley-messages").get_by_test_id("parley-attachment-file")
        expect(link).to_have_count(1)
        expect(link).to_contain_text("returns-label.pdf")
        assert errors == []
    finally:
        customer.close()
        agent.close()


def test_the_widget_refuses_a_wrong_type_an_oversize_file_and_a_polyglot(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    shop.attachment_max_bytes = 4000
    shop.save(update_fields=["attachment_max_bytes"])
    context = browser.new_context(viewport=VIEWPORT)
    try:
        tab = context.new_page()
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        write(tab, "Hello")
        frame = widget(tab)
        alert = frame.get_by_test_id("parley-attach-error")
        cases = [
            (
                {
                    "name": "setup.zip",
                    "mimeType": "application/zip",
                    "buffer": b"PK\x03\x04" + b"\0" * 40,
                },
                "setup.zip: this type of file can't be sent here.",
            ),
            (
                {"name": "big.txt", "mimeType": "text/plain", "buffer": b"a" * 5000},
                "big.txt is too large to send.",
            ),
            (
                {
                    "name": "cat.png",
                    "mimeType": "image/png",
                    "buffer": png_bytes((8, 8)) + b"<script>alert(document.domain)</script>",
                },
                "cat.png was refused: it could not be checked as safe.",
            ),
            (
                {
                    "name": "page.png",
                    "mimeType": "image/png",
                    "buffer": b"<html><script>alert(1)</script></html>",
                },
                "page.png: this type of file can't be sent here.",
            ),
        ]
        for upload, text in cases:
            frame.get_by_test_id("parley-file").set_input_files(upload)
            expect(alert).to_be_visible()
            expect(alert).to_have_text(text)
        # Nothing was sent: the only message is the customer's text.
        expect(
            frame.get_by_test_id("parley-messages").get_by_test_id("parley-message")
        ).to_have_count(1)
        expect(frame.get_by_test_id("parley-pending").locator("li")).to_have_count(0)
    finally:
        context.close()


def test_a_file_picked_before_the_session_answered_waits_for_the_token(
    asgi_server,
    browser,
    shop,  # noqa: F811
):
    """On a slow network the customer can pick a file before the widget's first token came:
    the upload waits for it (and is refused here for its type, visibly) rather than being
    dropped without a word. CI once picked the file in that window, under load."""
    expect.set_options(timeout=15_000)
    context = browser.new_context(viewport=VIEWPORT)
    held: list = []
    hold = [True]
    context.route(
        "**/api/v1/widget/sessions/",
        lambda route: held.append(route) if hold[0] else route.continue_(),
    )
    try:
        tab = context.new_page()
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        frame = widget(tab)
        # The route's handler runs while Playwright processes events: wait (bounded) for
        # the widget's session request to be held rather than assume it already is.
        deadline = time.monotonic() + 15
        while not held and time.monotonic() < deadline:
            tab.wait_for_timeout(100)
        assert held, "the widget asked for its token at start"
        frame.get_by_test_id("parley-file").set_input_files(
            {
                "name": "setup.zip",
                "mimeType": "application/zip",
                "buffer": b"PK\x03\x04" + b"\0" * 40,
            }
        )
        alert = frame.get_by_test_id("parley-attach-error")
        expect(frame.get_by_test_id("parley-attach")).to_be_disabled()  # waiting, and says so
        hold[0] = False
        for route in held:
            route.continue_()
        expect(alert).to_be_visible()
        expect(alert).to_have_text("setup.zip: this type of file can't be sent here.")
    finally:
        context.close()
