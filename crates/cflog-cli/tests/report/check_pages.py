"""Opens `cflog report` pages in Debian's chromium, driven by playwright
through its executable path, and checks each against `cflog stats --json`
for the same inputs.

    check_pages.py MANIFEST.json

The manifest is a list of {"name", "html", "stats", "screenshot"}: the page,
the stats JSON of the same inputs, and where to save a screenshot. For each
page: it loads from file:// with no console error, no page error and no
request but file: and data:; every panel is there; the overview's figures
equal the stats'; every chart has a text alternative and every table a
header row; a phone's width needs no sideways scrolling of the page; the
dark scheme changes the background. Prints one JSON line of what it
checked, and exits non-zero on the first failure, naming it.
"""

import json
import os
import shutil
import sys

from playwright.sync_api import sync_playwright

PANELS = [
    "overview", "over-time", "week", "statuses", "objects",
    "referrers", "agents", "geo", "latency", "network",
]


def fail(name, message):
    print(f"check_pages: {name}: {message}", file=sys.stderr)
    sys.exit(1)


def number(text):
    return int(text.replace(",", "").strip())


def percent(ratio):
    return "—" if ratio is None else f"{ratio * 100:.1f}%"


def check_page(browser, case):
    name = case["name"]
    with open(case["stats"]) as f:
        stats = json.load(f)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    url = "file://" + os.path.abspath(case["html"])
    page.goto(url, wait_until="load")
    if errors:
        fail(name, f"console errors: {errors}")
    foreign = [u for u in requests if not (u.startswith("file:") or u.startswith("data:"))]
    if foreign:
        fail(name, f"requests beyond file: and data: {foreign}")

    for panel in PANELS:
        section = page.locator(f"section.panel#{panel}")
        if section.count() != 1:
            fail(name, f"panel #{panel} missing")
        if not section.locator("h2").inner_text().strip():
            fail(name, f"panel #{panel} has no heading")

    def figure(key, attribute=None):
        cell = page.locator(f'[data-figure="{key}"]').first
        if attribute:
            return cell.get_attribute(attribute)
        return cell.inner_text().strip()

    expected = {
        "requests": stats["requests"],
        "lines": stats["lines"],
        "rejected": stats["rejected"],
        "hits": stats["cache"]["hits"],
        "misses": stats["cache"]["misses"],
        "inputs": stats["inputs"],
        "failed_inputs": stats["failed_inputs"],
    }
    for key, value in expected.items():
        shown = number(figure(key))
        if shown != value:
            fail(name, f"{key}: the page shows {shown}, cflog stats {value}")
    shown_bytes = number(figure("bytes_sent", "title").split()[0])
    if shown_bytes != stats["bytes_sent"]:
        fail(name, f"bytes_sent: the page has {shown_bytes}, cflog stats {stats['bytes_sent']}")
    for key in ("first", "last"):
        shown = figure(key)
        if shown != (stats[key] or "—"):
            fail(name, f"{key}: the page shows {shown}, cflog stats {stats[key]}")
    for cls, n in stats["status"].items():
        shown = number(figure(f"status-{cls}"))
        if shown != n:
            fail(name, f"status {cls}: the page shows {shown}, cflog stats {n}")
    if figure("hit_ratio") != percent(stats["cache"]["hit_ratio"]):
        fail(name, f"hit ratio: {figure('hit_ratio')} against {stats['cache']['hit_ratio']}")
    requests_n = stats["requests"]
    for key, cls in (("client_error_rate", "4xx"), ("server_error_rate", "5xx")):
        want = percent(stats["status"][cls] / requests_n if requests_n else None)
        if figure(key) != want:
            fail(name, f"{key}: the page shows {figure(key)}, from cflog stats {want}")

    # Accessibility basics.
    charts = page.locator("svg.chart")
    for i in range(charts.count()):
        chart = charts.nth(i)
        if chart.get_attribute("role") != "img" or not (chart.get_attribute("aria-label") or "").strip():
            fail(name, f"chart {i} has no role=img and aria-label")
        if chart.locator("title").count() != 1:
            fail(name, f"chart {i} has no <title>")
    tables = page.locator("table")
    for i in range(tables.count()):
        table = tables.nth(i)
        if table.locator("thead th").count() == 0:
            fail(name, f"table {i} has no header row")
        if table.locator("caption").count() != 1:
            fail(name, f"table {i} has no caption")
    page.screenshot(path=case["screenshot"], full_page=True)
    counted = {"name": name, "charts": charts.count(), "tables": tables.count(), "requests": len(requests)}

    # A phone: the page itself never scrolls sideways (wide tables scroll
    # in their own box).
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 1:
        fail(name, f"a 390px-wide screen scrolls sideways by {overflow}px")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    context.close()

    dark_context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="dark")
    dark = dark_context.new_page()
    dark.goto(url, wait_until="load")
    dark_bg = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    if dark_bg == light:
        fail(name, f"the dark scheme keeps the background {light}")
    if case.get("dark_screenshot"):
        dark.screenshot(path=case["dark_screenshot"], full_page=True)
    dark_context.close()
    return counted


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    executable = os.environ.get("CFLOG_CHROMIUM") or shutil.which("chromium")
    if not executable:
        fail("setup", "no chromium on PATH (scripts/install-browser installs it)")
    checked = []
    with sync_playwright() as p:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        for case in cases:
            checked.append(check_page(browser, case))
        browser.close()
    print(json.dumps({"pages": len(checked), "checked": checked}))


if __name__ == "__main__":
    main()
