"""The customer widget's load in Chromium: the launcher's first paint after the loader
arrives, and the bytes the widget costs a page (cold, after opening, and on the next page).

Run it against a running Parley serving collected static files (DEBUG=false after
`collectstatic`), on a page that embeds the widget (the demo page by default):

    PARLEY_DATA_DIR=/tmp/bench-widget DEBUG=false .venv/bin/python manage.py collectstatic --noinput
    PARLEY_DATA_DIR=/tmp/bench-widget DEBUG=false .venv/bin/python manage.py runparley --port 8150
    .venv/bin/python bench/widget_load.py --url http://127.0.0.1:8150/demo/ --runs 20

It prints, per run and summarised: first paint = when the launcher first shows, i.e. the
frame after the loader drew it (the loader's requestAnimationFrame time, `__parleyPainted`)
or the page's own first paint if the page had not painted yet, minus when the loader's
response ended (its resource timing `responseEnd`), all on the page's clock; and the bytes on the wire (CDP `encodedDataLength`: headers and compressed bodies) of
every request to the Parley server except the host page's own HTML and the socket.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

LOADER = re.compile(r"/parley/widget(\.[0-9a-f]{12})?\.js")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def watch_bytes(context, page, server: str) -> dict[str, int]:
    """Bytes on the wire per URL for the Parley server (CDP), for one page."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}

    def sent(ev):
        # The host page's own documents are not the widget's cost; the frame is.
        if ev.get("type") != "Document" or "/widget/frame/" in ev["request"]["url"]:
            urls[ev["requestId"]] = ev["request"]["url"]

    def finished(ev):
        url = urls.get(ev["requestId"], "")
        if url.startswith(server):
            sizes[url] = int(ev["encodedDataLength"])

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.loadingFinished", finished)
    return sizes


def run_once(browser, url: str) -> dict:
    # The bench's string predicates are eval'd in the page, which the pages' CSP rightly
    # refuses (no 'unsafe-eval'); the browser tests bypass it the same way.
    context = browser.new_context(viewport={"width": 1280, "height": 840}, bypass_csp=True)
    page = context.new_page()
    page.add_init_script(
        "window.__paints = {}; new PerformanceObserver((list) => { for (const e of "
        "list.getEntries()) window.__paints[e.name] = e.startTime; })"
        ".observe({type: 'paint', buffered: true});"
    )
    server = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    sizes = watch_bytes(context, page, server)
    page.goto(url)
    host_url = page.url
    page.wait_for_function(
        "window.__parleyPainted !== undefined && window.__paints['first-paint'] !== undefined"
    )
    paint = page.evaluate(
        r"""() => {
            const loader = performance.getEntriesByType("resource")
                .find((e) => /\/parley\/widget(\.[0-9a-f]{12})?\.js/.test(e.name));
            return {painted: window.__parleyPainted, arrived: loader.responseEnd,
                    page_paint: window.__paints["first-paint"],
                    loader_body: loader.encodedBodySize};
        }"""
    )
    loader_only = sum(v for k, v in sizes.items() if LOADER.search(k))
    # Open the chat: the frame and its modules load (if the idle load has not yet).
    page.get_by_test_id("parley-launcher").click()
    page.frame_locator("[data-testid=parley-frame]").get_by_test_id("parley-panel").wait_for()
    page.frame_locator("[data-testid=parley-frame]").get_by_test_id("parley-input").wait_for()
    opened = sum(sizes.values())
    files = len(sizes)
    # The next page of the same site, warm cache: what it costs again.
    sizes.clear()
    page.goto(host_url + ("&" if "?" in host_url else "?") + "section=paint")
    page.frame_locator("[data-testid=parley-frame]").get_by_test_id("parley-panel").wait_for()
    page.frame_locator("[data-testid=parley-frame]").get_by_test_id("parley-input").wait_for()
    # "networkidle" (no request for 500 ms) never comes since the tabs share a socket:
    # the page's own frame opens a worker and a session; the bytes are counted after the
    # load event and a settle instead.
    page.wait_for_load_state("load")
    page.wait_for_timeout(2000)
    warm = sum(sizes.values())
    warm_files = dict(sizes)
    context.close()
    # The launcher shows in the first frame after the loader drew it (its rAF time), or in
    # the page's own first paint when the page had painted nothing yet.
    shown = max(paint["painted"], paint["page_paint"])
    return {
        "first_paint_ms": shown - paint["arrived"],
        # How much of that the page's own first paint accounts for.
        "own_ms": paint["painted"] - paint["arrived"],
        "in_first_frame": paint["painted"] <= paint["page_paint"],
        "warm_files": warm_files,
        "loader_wire": loader_only,
        "loader_body": paint["loader_body"],
        "opened_wire": opened,
        "opened_files": files,
        "next_page_wire": warm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8150/demo/")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    opts = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=opts.chromium, args=ARGS)
        run_once(browser, opts.url)  # warm the server (first template render, caches)
        rows = [run_once(browser, opts.url) for _ in range(opts.runs)]
        browser.close()
    for i, r in enumerate(rows, 1):
        print(
            f"run {i:2d}: first paint {r['first_paint_ms']:6.1f} ms (next frame after the loader "
            f"ran: {r['own_ms']:5.1f} ms)  loader {r['loader_wire']} B "
            f"on the wire ({r['loader_body']} B body)  opened {r['opened_wire']} B in "
            f"{r['opened_files']} files  next page {r['next_page_wire']} B"
        )
    paints = sorted(r["first_paint_ms"] for r in rows)
    p95 = paints[min(len(paints) - 1, round(0.95 * (len(paints) - 1)))]
    print(
        f"\nfirst paint after the loader arrived: median {statistics.median(paints):.1f} ms, "
        f"p95 {p95:.1f} ms, max {paints[-1]:.1f} ms over {len(rows)} cold page loads"
    )
    owns = sorted(r["own_ms"] for r in rows)
    first = sum(r["in_first_frame"] for r in rows)
    print(
        f"  the launcher was in the page's own first painted frame in {first} of {len(rows)} loads"
    )
    print(f"  load average while it ran: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    print(
        f"  the first frame after the loader ran, ignoring the page's own first paint: median "
        f"{statistics.median(owns):.1f} ms, p95 {owns[min(len(owns) - 1, round(0.95 * (len(owns) - 1)))]:.1f} ms"
    )
    print(
        "next page, per URL:", {k.split("/")[-1][:40]: v for k, v in rows[-1]["warm_files"].items()}
    )
    print(
        f"bytes on the wire: loader {statistics.median(r['loader_wire'] for r in rows):.0f} B "
        f"(body {rows[0]['loader_body']} B), everything once opened "
        f"{statistics.median(r['opened_wire'] for r in rows):.0f} B, "
        f"next page {statistics.median(r['next_page_wire'] for r in rows):.0f} B"
    )


if __name__ == "__main__":
    main()
