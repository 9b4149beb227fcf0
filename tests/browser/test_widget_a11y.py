"""The widget's accessibility in Chromium (WCAG 2.1 AA): axe-core, injected into the
widget's frame and the host page, finds no serious or critical violation, in the light and
the dark scheme; new messages are announced by a live region.

axe-core is the npm package pinned in package-lock.json (`npm ci`, as `make test` does).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_chat_e2e import (  # noqa: F401 (fixtures)
    VIEWPORT,
    bot_shop,
    open_widget,
    shop,
    widget,
    widget_frame,
    write,
)

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN = """async ([tags, scope]) => {
  const result = await axe.run(scope ? {include: [[scope]]} : document,
                               {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                        targets: v.nodes.map((n) => n.target)}));
}"""


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture
def axe_script() -> str:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci`")
    return str(AXE)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_in_the_widget(
    asgi_server,
    browser,
    bot_shop,  # noqa: F811
    axe_script,
    scheme,
):
    expect.set_options(timeout=15_000)
    # bypass_csp: axe is injected by the test, which the pages' CSP rightly refuses.
    context = browser.new_context(
        viewport=VIEWPORT, color_scheme=scheme, locale="en-US", bypass_csp=True
    )
    try:
        page = context.new_page()
        open_widget(page, f"{asgi_server.url}/demo/{bot_shop.key}/")
        chat = widget(page)
        choices = chat.get_by_test_id("parley-choices").locator("visible=true")
        expect(choices.get_by_test_id("parley-choice")).to_have_count(3)
        # New messages are read out by the live region (the log itself is not live).
        expect(chat.get_by_test_id("parley-live")).to_contain_text(
            "Is your question about an order or a product?"
        )
        write(page, "Hello!")
        expect(chat.get_by_test_id("parley-messages").locator("li.mine")).to_have_count(1)
        frame = widget_frame(page)
        if scheme == "dark":
            assert frame.evaluate("getComputedStyle(document.body).backgroundColor") == (
                "rgb(24, 28, 36)"
            )
        frame.add_script_tag(path=axe_script)
        inside = frame.evaluate(RUN, [WCAG_AA, None])
        assert serious(inside) == [], inside
        page.add_script_tag(path=axe_script)
        launcher = page.evaluate(RUN, [WCAG_AA, "[data-testid=parley-widget]"])
        assert serious(launcher) == [], launcher
        page.screenshot(path=f"/tmp/parley_e2e_widget_{scheme}.png")
    finally:
        context.close()
