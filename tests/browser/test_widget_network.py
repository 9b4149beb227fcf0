"""A flaky network in Chromium: the customer, with two tabs open, goes offline, writes in
both, and comes back; the first session request is dropped too. Nothing is lost, nothing
is sent twice, and both tabs show it all."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat.models import Message
from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    open_widget,
    shop,
    transcript,
    watch_errors,
    widget,
    widget_frame,
    write,
)

pytestmark = pytest.mark.browser


# Offline emulation does not close an open socket: the client finds it dead when two
# heartbeats go unanswered, so a short heartbeat keeps the test quick.
@pytest.mark.parametrize("server_env", [{"HEARTBEAT_INTERVAL": "2"}])
def test_offline_then_online_with_requests_dropped_loses_nothing(
    asgi_server,
    browser,
    shop,  # noqa: F811
    server_env,
):
    expect.set_options(timeout=15_000)
    back = 45_000  # a reconnect waits out a jittered back-off
    context = browser.new_context(viewport=VIEWPORT)
    # The tabs share one socket (static/parley/client/tabs.js). Playwright's offline
    # emulation reaches pages and their frames but not a SharedWorker, where that socket
    # lives when the browser has one: here the tabs share a leader tab's socket instead,
    # which the emulation does cut (the worker's case: tests/browser/test_widget_tabs.py,
    # and a server restart in test_chat_e2e.py).
    context.add_init_script("delete window.SharedWorker;")
    dropped: list[str] = []

    def drop_first_session(route):
        if not dropped:
            dropped.append(route.request.url)
            return route.abort("connectionreset")
        return route.continue_()

    context.route("**/api/v1/widget/sessions/", drop_first_session)
    try:
        tab = context.new_page()
        open_widget(tab, f"{asgi_server.url}/demo/{shop.key}/")
        first = "Hello, do you sell hinges?"
        write(tab, first)
        chat = widget(tab)
        mine = chat.get_by_test_id("parley-messages").locator("li.mine")
        expect(mine).to_have_count(1, timeout=back)  # sent once the retried session came
        expect(mine.first).to_have_attribute("data-status", "sent")
        other = context.new_page()
        open_widget(other, f"{asgi_server.url}/demo/{shop.key}/?section=paint")
        expect(transcript(other, "parley-messages")).to_have_text([first])
        assert widget_frame(other).evaluate("window.parleySharedSocket") == "leader"

        context.set_offline(True)
        for page in (tab, other):
            expect(widget(page).get_by_test_id("parley-banner")).to_contain_text(
                "Reconnecting", timeout=back
            )
        offline = ["Brass ones, 80 mm.", "About twenty of them."]
        write(tab, offline[0])
        write(other, offline[1])
        for page in (tab, other):
            pending = widget(page).get_by_test_id("parley-pending").locator("li")
            expect(pending).to_have_count(2)  # one outbox for the site's tabs
            expect(pending.first).to_have_attribute("data-status", "sending")

        context.set_offline(False)
        everything = [first, *offline]
        for page in (tab, other):
            expect(transcript(page, "parley-messages")).to_have_text(everything, timeout=back)
            expect(widget(page).get_by_test_id("parley-pending").locator("li")).to_have_count(0)
            expect(widget(page).get_by_test_id("parley-banner")).to_be_hidden()
        tab.reload()
        expect(transcript(tab, "parley-messages")).to_have_text(everything)
    finally:
        context.close()
    assert dropped  # the first session request was really dropped
    rows = list(Message.objects.order_by("seq").values_list("seq", "body"))
    assert rows == list(enumerate(everything, start=1))
