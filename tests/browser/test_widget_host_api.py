"""The loader on a host page that is not kind to it, and the frame's own refusals, in Chromium.

The host page (another origin) carries CSS that reaches the widget's light-DOM host element
(`body > div { position: relative; z-index: 1 }`) under a fixed header at z-index 99999, its
own inline `overflow` on <html>, and Parley calls queued before the tag, one of them bad; a
tag manager pushes another call after the loader ran. In the frame: a pick of more files
than a message may carry, and a message the server refuses, said in the reader's language.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from chat import services
from chat.models import Attachment, Customer, Message
from tests.browser.test_chat_e2e import VIEWPORT, shop, widget, write  # noqa: F401 (fixture)
from tests.browser.test_embed import host_page  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
POLICY = "script-src http: 'unsafe-inline'; frame-src http:"
HOST_PAGE = """<!doctype html>
<html lang="en" style="overflow: auto"><head><meta charset="utf-8"><title>A rough shop</title>
<style>
  body > div {{ position: relative; z-index: 1; transform: translateZ(0); }}
  header {{ position: fixed; top: 0; left: 0; right: 0; height: 220px; z-index: 99999; background: #eee; }}
</style></head>
<body><header>The shop's own header</header><div>A product list</div>
<script>
  window.hostEvents = [];
  window.Parley = window.Parley || [];
  Parley.push(["close"]);
  Parley.push(["no such call"]);
  Parley.push(["on", "open", function () {{ hostEvents.push("open"); }}]);
  Parley.push(["identify", {{ externalId: "user-7", userHash: "{hash}", name: "Zoé" }}]);
</script>
<script src="{server}/static/parley/widget.js" data-site="{key}" data-locale="{locale}" async></script>
</body></html>"""

# Where the panel's close button is, on the host page: what a click there would hit.
HIT = """([x, y]) => {
  const hit = document.elementFromPoint(x, y);
  return hit && hit.dataset.testid;
}"""


@pytest.fixture
def server_env():
    return {"MESSAGE_MAX_CHARS": "20"}


def serve(host_page, asgi_server, site, locale="en") -> str:  # noqa: F811
    hash_ = services.identity_hash(site=site, external_id="user-7")
    html = HOST_PAGE.format(server=asgi_server.url, key=site.key, hash=hash_, locale=locale)
    return host_page(html, POLICY)


def load(page: Page, url: str, warnings: list[str]) -> None:
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(url)
    page.wait_for_function("window.Parley && window.Parley.loaded")


def close_button_hit(page: Page) -> str:
    box = widget(page).get_by_test_id("parley-close").bounding_box()
    return page.evaluate(HIT, [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])


def test_the_loader_survives_the_host_page(asgi_server, browser, shop, host_page):  # noqa: F811
    expect.set_options(timeout=15_000)
    url = serve(host_page, asgi_server, shop)
    for viewport, full_screen in ((VIEWPORT, False), (PHONE, True)):
        errors: list[str] = []
        warnings: list[str] = []
        context = browser.new_context(viewport=viewport)
        try:
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))  # noqa: B023
            load(page, url, warnings)
            # The early close (no frame yet) did not abort the calls after it; the bad
            # one is said in the console, and the rest ran.
            assert any("no such call" in w for w in warnings), warnings
            expect(page.get_by_test_id("parley-frame")).to_be_hidden()
            # A tag manager's late push, the README snippet's own pattern.
            page.evaluate('(window.Parley = window.Parley || []).push(["open"])')
            expect(widget(page).get_by_test_id("parley-panel")).to_be_visible()
            assert page.evaluate("hostEvents") == ["open"]
            # On top of the page's fixed header, whatever the page's CSS says of divs.
            assert close_button_hit(page) == "parley-widget"
            assert page.evaluate("document.documentElement.style.overflow") == (
                "hidden" if full_screen else "auto"
            )
            page.evaluate("Parley.close()")
            expect(page.get_by_test_id("parley-frame")).to_be_hidden()
            assert page.evaluate("document.documentElement.style.overflow") == "auto"
            assert errors == []
        finally:
            context.close()
    # The queued identify ran after the failing calls.
    for _ in range(150):  # the database is not Playwright's to wait on: poll it
        if Customer.objects.filter(external_id="user-7", identity_verified=True).exists():
            break
        page.wait_for_timeout(100)
    assert Customer.objects.filter(external_id="user-7", identity_verified=True).exists()


def test_the_frame_says_its_refusals_in_the_readers_language(
    asgi_server,
    browser,
    shop,  # noqa: F811
    host_page,  # noqa: F811
):
    expect.set_options(timeout=15_000)
    uploads: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.on("request", lambda r: "/attachments/" in r.url and uploads.append(r.url))
        load(page, serve(host_page, asgi_server, shop, locale="fr"), [])
        page.evaluate("Parley.open()")
        chat = widget(page)
        expect(chat.get_by_test_id("parley-input")).to_be_enabled()

        # More files than a message may carry (ATTACHMENT_MAX_COUNT, 5): none is uploaded.
        files = [
            {"name": f"note{n}.txt", "mimeType": "text/plain", "buffer": b"hello"} for n in range(6)
        ]
        chat.get_by_test_id("parley-file").set_input_files(files)
        expect(chat.get_by_test_id("parley-attach-error")).to_have_text(
            "Trop de fichiers dans un seul message."
        )

        # A message over MESSAGE_MAX_CHARS is refused: in French, where it was written,
        # not below what was sent after it, and the customer may put it away.
        write(page, "Bonjour")
        mine = chat.get_by_test_id("parley-messages").locator("li[data-seq='1']")
        expect(mine).to_have_attribute("data-status", "sent")
        # Sent, then back in the composer to edit (session.js), with a red bubble.
        chat.get_by_test_id("parley-input").fill("Une question bien trop longue")
        chat.get_by_test_id("parley-send").click()
        failed = chat.locator("li.failed")
        expect(failed.get_by_test_id("parley-failed-reason")).to_have_text(
            "Ce message est trop long. Raccourcissez-le et renvoyez-le."
        )
        write(page, "Merci")
        expect(chat.get_by_test_id("parley-messages").locator("li[data-seq='2']")).to_be_visible()
        bodies = chat.locator("li[data-testid=parley-message] [data-testid=parley-message-body]")
        expect(bodies).to_have_text(["Bonjour", "Une question bien trop longue", "Merci"])
        failed.get_by_role("button", name="Retirer ce message").click()
        expect(failed).to_have_count(0)
        expect(bodies).to_have_text(["Bonjour", "Merci"])
    finally:
        context.close()
    assert uploads == [] and Attachment.objects.count() == 0
    assert list(Message.objects.filter(kind="text").values_list("body", flat=True)) == [
        "Bonjour",
        "Merci",
    ]
