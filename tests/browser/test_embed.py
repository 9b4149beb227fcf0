"""The one-tag embed on a foreign page with a strict Content-Security-Policy, in Chromium.

widget.js is a small classic script (the loader) that draws the launcher and puts the chat in
an iframe on Parley's origin. The tag must pass the host page's CSP by its nonce (with or
without 'strict-dynamic'), and the frame by frame-src; nothing else of the page's policy
applies to the chat, which runs in the frame's own document.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from chat.models import Site
from routing.models import Queue
from tests.browser.test_chat_e2e import VIEWPORT, widget, write

pytestmark = pytest.mark.browser

NONCE = "c3RyaWN0LWVtYmVk"

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop elsewhere</title></head>
<body><h1>A shop on another origin</h1>
<script>window.inlineRan = true;</script>
<script nonce="{nonce}" src="{server}/static/parley/widget.js" data-site="{key}" async></script>
</body></html>"""


@pytest.fixture
def site(transactional_db):
    queue = Queue.objects.create(name="General")
    return Site.objects.create(name="A shop elsewhere", key="e2e-embed", default_queue=queue)


# Before any of the page's scripts: what the page's policy refuses.
WATCH_CSP = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.cspViolations.push(e.blockedURI + " " + e.effectiveDirective);
});
"""


@pytest.fixture
def host_page():
    """A page on another origin (its own port on loopback: Chromium refuses a public page's
    requests to loopback) serving what `serve(html, policy)` was given, with that CSP."""
    page = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = page["html"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", page["policy"])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def serve(html: str, policy: str) -> str:
        page.update(html=html, policy=policy)
        return f"http://127.0.0.1:{httpd.server_port}/shop/"

    yield serve
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize(
    "script_src",
    [f"'nonce-{NONCE}'", f"'nonce-{NONCE}' 'strict-dynamic'"],
    ids=["nonce", "strict-dynamic"],
)
def test_the_widget_embeds_on_a_foreign_page_under_a_strict_csp(
    asgi_server, browser, site, host_page, script_src
):
    expect.set_options(timeout=15_000)
    server = asgi_server.url  # http://127.0.0.1:PORT
    # What README's "Embedding the widget" says a host page's policy needs: the loader's
    # script and style, and the frame. The chat's own requests and socket leave from the
    # frame, under Parley's origin, so the page needs no connect-src for them.
    policy = (
        f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
        f"frame-src {server}"
    )
    html = HOST_PAGE.format(nonce=NONCE, server=server, key=site.key)
    errors: list[str] = []
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(WATCH_CSP)
    url = host_page(html, policy)
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.get_by_test_id("parley-launcher").click()
        expect(widget(page).get_by_test_id("parley-panel")).to_be_visible()
        write(page, "Hello from another origin")
        mine = widget(page).get_by_test_id("parley-messages").locator("li[data-seq='1']")
        expect(mine).to_contain_text("Hello from another origin")
        expect(mine).to_have_attribute("data-status", "sent")
        assert errors == []
        # The policy is in force (the page's own inline script without the nonce was
        # refused) and refused nothing of the widget's: modules, styles, fetch, socket.
        assert page.evaluate("window.inlineRan") is None
        assert page.evaluate("window.cspViolations") == ["inline script-src-elem"]
    finally:
        context.close()
