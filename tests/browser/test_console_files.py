"""Files in the console's composer, in a real Chromium: picked, pasted (a screenshot) or
dropped, each is uploaded and staged as a chip above the reply, removable, and reaches the
customer only with Send, in one message with the reply's text. In note mode a pasted file
is refused and the staged ones wait for Reply. Fixtures come from test_chat_e2e."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import test_chat_e2e as e2e
from tests.browser.test_attachments import png_bytes
from tests.browser.test_chat_e2e import VIEWPORT, login, open_widget, watch_errors, write

pytestmark = pytest.mark.browser

shop = e2e.shop  # the fixture: a site, a queue, and alice who serves it
NO_FILES = "Attachments cannot be added to internal notes."

# A file as the clipboard or a drag carries it, delivered to the composer as the browser
# would: a paste on the textarea, a drop on the composer.
DELIVER = """([kind, name, type, bytes]) => {
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(bytes)], name, { type }));
  const init = { bubbles: true, cancelable: true };
  if (kind === "paste") {
    document.querySelector("[data-testid=composer-input]")
      .dispatchEvent(new ClipboardEvent("paste", { ...init, clipboardData: dt }));
  } else {
    const form = document.querySelector("[data-testid=composer]");
    form.dispatchEvent(new DragEvent("dragover", { ...init, dataTransfer: dt }));
    form.dispatchEvent(new DragEvent("drop", { ...init, dataTransfer: dt }));
  }
}"""


def _taken_chat(customer, agent, base, shop, errors, first: str):
    """A customer writes in the widget; Alice accepts the offer. Returns (widget tab, console)."""
    tab = watch_errors(customer.new_page(), errors)
    open_widget(tab, f"{base}/demo/{shop.key}/")
    write(tab, first)
    e2e.stored_first(tab)
    console = watch_errors(agent.new_page(), errors)
    login(console, base)
    console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
    expect(console.get_by_test_id("composer")).to_be_visible()
    return tab, console


def test_files_are_staged_and_sent_with_the_reply(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab, console = _taken_chat(
            customer, agent, base, shop, errors, "Can you send me the returns label?"
        )
        chips = console.get_by_test_id("composer-staged-file")

        console.get_by_test_id("composer-file").set_input_files(
            {"name": "old-label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"}
        )
        expect(chips).to_have_count(1)
        console.evaluate(DELIVER, ["paste", "screenshot.png", "image/png", list(png_bytes())])
        expect(chips).to_have_count(2)
        console.evaluate(DELIVER, ["drop", "returns-label.pdf", "application/pdf",
                                   list(b"%PDF-1.4\n%%EOF\n")])  # fmt: skip
        expect(chips).to_have_count(3)
        chips.filter(has_text="old-label.pdf").get_by_test_id("composer-staged-remove").click()
        expect(chips).to_have_count(2)

        # Nothing has reached the customer yet.
        frame = e2e.widget(tab)
        received = frame.get_by_test_id("parley-messages")
        expect(received.get_by_test_id("parley-attachment-file")).to_have_count(0)

        # A pasted file in note mode is refused; the staged ones wait for Reply.
        console.get_by_test_id("composer-mode-note").click()
        expect(console.get_by_test_id("composer-staged")).to_be_hidden()
        console.evaluate(DELIVER, ["paste", "secret.png", "image/png", list(png_bytes())])
        expect(console.get_by_test_id("toast")).to_have_text(NO_FILES)
        console.get_by_test_id("composer-mode-reply").click()
        expect(chips).to_have_count(2)

        console.get_by_test_id("composer-input").fill("Here it is, with a screenshot.")
        console.get_by_test_id("composer-input").press("Enter")
        expect(chips).to_have_count(0)
        expect(console.get_by_test_id("composer-staged")).to_be_hidden()
        # One message: the text, the screenshot and the label; not the removed file.
        expect(received.get_by_test_id("parley-attachment-image")).to_have_count(1)
        expect(received.get_by_test_id("parley-attachment-image")).to_have_attribute(
            "alt", "screenshot.png"
        )
        expect(received.get_by_test_id("parley-attachment-file")).to_have_count(1)
        expect(received.get_by_test_id("parley-attachment-file")).to_contain_text(
            "returns-label.pdf"
        )
        expect(received).to_contain_text("Here it is, with a screenshot.")
        assert errors == []
    finally:
        customer.close()
        agent.close()
    from chat.attachment_models import Attachment

    # Stored as one message; the removed file was uploaded but never sent.
    sent = Attachment.objects.filter(message__isnull=False)
    assert sorted(a.name for a in sent) == ["returns-label.pdf", "screenshot.png"]
    assert {a.message.body for a in sent} == {"Here it is, with a screenshot."}
    assert Attachment.objects.get(name="old-label.pdf").message_id is None


def test_send_waits_for_an_upload_and_a_refused_send_comes_back(asgi_server, browser, shop):
    # A reply sent while its screenshot was still uploading went without it (the file then
    # sat staged for the next reply); a send refused for too many files was lost, text and
    # files, behind a "Not sent" bubble.
    expect.set_options(timeout=15_000)
    shop.attachment_max_count = 1
    shop.save(update_fields=["attachment_max_count"])
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab, console = _taken_chat(customer, agent, base, shop, errors, "Here is my problem.")
        received = e2e.widget(tab).get_by_test_id("parley-messages")
        composer = console.get_by_test_id("composer-input")
        held = []
        console.route("**/api/v1/conversations/*/attachments/", lambda route: held.append(route))

        console.evaluate(DELIVER, ["paste", "slow.png", "image/png", list(png_bytes())])
        expect(console.get_by_test_id("composer-staged-uploading")).to_have_count(1)
        composer.fill("See the screenshot.")
        composer.press("Enter")
        expect(console.get_by_test_id("toast")).to_contain_text("still uploading")
        expect(composer).to_have_value("See the screenshot.")
        assert len(held) == 1
        held[0].continue_()
        console.unroute("**/api/v1/conversations/*/attachments/")
        expect(console.get_by_test_id("composer-staged-uploading")).to_have_count(0)
        expect(console.get_by_test_id("composer-staged-file")).to_have_count(1)

        # Two files where the site takes one a message: refused, and given back to fix.
        console.get_by_test_id("composer-file").set_input_files(
            {"name": "label.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n"}
        )
        expect(console.get_by_test_id("composer-staged-file")).to_have_count(2)
        composer.press("Enter")
        expect(console.get_by_test_id("toast")).to_contain_text("It is back in the reply box.")
        expect(composer).to_have_value("See the screenshot.")
        chips = console.get_by_test_id("composer-staged-file")
        expect(chips).to_have_count(2)
        expect(console.get_by_test_id("transcript").locator(".msg.failed")).to_have_count(0)
        chips.filter(has_text="label.pdf").get_by_test_id("composer-staged-remove").click()
        composer.press("Enter")
        expect(received.get_by_test_id("parley-attachment-image")).to_have_count(1)
        expect(received).to_contain_text("See the screenshot.")
        expect(received.get_by_test_id("parley-attachment-file")).to_have_count(0)

        # A file dropped beside the composer, on the transcript, is staged, not opened.
        console.evaluate(
            """([name, bytes]) => {
                const dt = new DataTransfer();
                dt.items.add(new File([new Uint8Array(bytes)], name, { type: "application/pdf" }));
                const target = document.querySelector("[data-testid=transcript]");
                const init = { bubbles: true, cancelable: true, dataTransfer: dt };
                const over = new DragEvent("dragover", init);
                target.dispatchEvent(over);
                const drop = new DragEvent("drop", init);
                target.dispatchEvent(drop);
                window.parleyDropKept = over.defaultPrevented && drop.defaultPrevented;
            }""",
            ["beside.pdf", list(b"%PDF-1.4\n")],
        )
        assert console.evaluate("window.parleyDropKept") is True
        expect(console.get_by_test_id("composer-staged-file")).to_have_count(1)
        assert errors == []
    finally:
        customer.close()
        agent.close()
