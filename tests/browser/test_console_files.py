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


def test_files_are_staged_and_sent_with_the_reply(asgi_server, browser, shop):
    expect.set_options(timeout=15_000)
    errors: list[str] = []
    base = asgi_server.url
    customer = browser.new_context(viewport=VIEWPORT)
    agent = browser.new_context(viewport=VIEWPORT)
    try:
        tab = watch_errors(customer.new_page(), errors)
        open_widget(tab, f"{base}/demo/{shop.key}/")
        write(tab, "Can you send me the returns label?")
        e2e.stored_first(tab)
        console = watch_errors(agent.new_page(), errors)
        login(console, base)
        console.get_by_test_id("offer").get_by_test_id("offer-accept").click()
        expect(console.get_by_test_id("composer")).to_be_visible()
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
