"""A flaky network in Chromium: the customer goes offline, writes, and comes back; the
first session request is dropped too. Nothing is lost, nothing is sent twice."""

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

        context.set_offline(True)
        expect(chat.get_by_test_id("parley-banner")).to_contain_text("Reconnecting", timeout=back)
        offline = ["Brass ones, 80 mm.", "About twenty of them."]
        for text in offline:
            write(tab, text)
        pending = chat.get_by_test_id("parley-pending").locator("li")
        expect(pending).to_have_count(2)
        expect(pending.first).to_have_attribute("data-status", "sending")

        context.set_offline(False)
        everything = [first, *offline]
        expect(transcript(tab, "parley-messages")).to_have_text(everything, timeout=back)
        expect(pending).to_have_count(0)
        expect(chat.get_by_test_id("parley-banner")).to_be_hidden()
        tab.reload()
        expect(transcript(tab, "parley-messages")).to_have_text(everything)
    finally:
        context.close()
    assert dropped  # the first session request was really dropped
    rows = list(Message.objects.order_by("seq").values_list("seq", "body"))
    assert rows == list(enumerate(everything, start=1))
