"""Time to first paint of the widget's launcher on the demo page, in headless Chromium,
against a running node; and the compressed bytes the widget costs a browser.

    PYTHONPATH=server python -m loadtest.first_paint --base-url http://127.0.0.1:8000 --runs 30

Each run opens /demo and records, inside the page, `performance.now()` (milliseconds since
the navigation started) in the first animation frame in which the launcher is laid out
(the frame that paints it), and when the widget's `ready` event came (the chat module
loaded and the socket welcomed). A cold run
is a fresh browser context (empty cache); a warm run reloads the page in the context of
the run before, as a returning visitor would (the loader and the modules cached).
Every run is a new visitor on the node (one socket each, closed with the context)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

import httpx
from playwright.async_api import Browser, Page, async_playwright

# Runs before the page's own scripts: watches every animation frame until the launcher
# is laid out, and records the `ready` event through the stub of widget/README.md.
RECORD_TIMES = """
(function watchLauncher() {
  const check = () => {
    const launcher = document.querySelector('switchboard-chat')?.shadowRoot?.querySelector('.launcher');
    const box = launcher ? launcher.getBoundingClientRect() : null;
    if (box && box.width > 0 && box.height > 0) {
      window.launcherPaintedAt = performance.now();
    } else {
      requestAnimationFrame(check);
    }
  };
  requestAnimationFrame(check);
})();
window.Switchboard = window.Switchboard || {q: []};
window.Switchboard.on = window.Switchboard.on || ((...args) => window.Switchboard.q.push(['on', args]));
window.Switchboard.on('ready', () => { window.readyAt = performance.now(); });
"""
DEADLINE_MS = 15_000


@dataclass
class Timings:
    page_ms: list[float] = field(default_factory=list)  # the page's own first contentful paint
    launcher_ms: list[float] = field(default_factory=list)
    ready_ms: list[float] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 is p95)."""
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered) + 0.5) - 1)]


async def measure(page: Page, timings: Timings, load: Any) -> None:
    await load()
    launcher = await page.wait_for_function("() => window.launcherPaintedAt || false", timeout=DEADLINE_MS)
    timings.launcher_ms.append(float(await launcher.json_value()))
    ready = await page.wait_for_function("() => window.readyAt || false", timeout=DEADLINE_MS)
    timings.ready_ms.append(float(await ready.json_value()))
    page_paint = "() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime || false"
    timings.page_ms.append(float(await (await page.wait_for_function(page_paint, timeout=DEADLINE_MS)).json_value()))


async def run(browser: Browser, base_url: str, runs: int) -> tuple[Timings, Timings, set[str]]:
    cold = Timings()
    warm = Timings()
    widget_files: set[str] = set()
    for _ in range(runs):
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        await context.add_init_script(RECORD_TIMES)
        page = await context.new_page()
        page.on("response", lambda response: widget_files.add(response.url))
        await measure(page, cold, lambda page=page: page.goto(f"{base_url}/demo", wait_until="commit"))
        await measure(page, warm, lambda page=page: page.reload(wait_until="commit"))
        await context.close()
    return cold, warm, {url for url in widget_files if "/widget/" in url and "/widget/demo." not in url}


async def compressed_sizes(base_url: str, urls: set[str]) -> dict[str, int]:
    """What the server sends each file as to a browser that takes gzip."""
    sizes: dict[str, int] = {}
    async with httpx.AsyncClient() as http:
        for url in sorted(urls):
            request = http.build_request("GET", url, headers={"Accept-Encoding": "gzip"})
            response = await http.send(request, stream=True)
            sizes[url.removeprefix(base_url)] = len(b"".join([chunk async for chunk in response.aiter_raw()]))
            await response.aclose()
    return sizes


def line(name: str, values: list[float]) -> str:
    return f"{name:<36}{statistics.median(values):>10.0f}{percentile(values, 0.95):>10.0f}{max(values):>10.0f}"


async def main_async(args: argparse.Namespace) -> int:
    base_url = args.base_url.rstrip("/")
    async with async_playwright() as playwright:
        executable = args.chromium or shutil.which("chromium") or shutil.which("chromium-headless-shell")
        browser = await playwright.chromium.launch(executable_path=executable)
        try:
            cold, warm, files = await run(browser, base_url, args.runs)
        finally:
            await browser.close()
    sizes = await compressed_sizes(base_url, files)
    loader = sizes.get("/widget/switchboard.js", 0)
    print(f"/demo on {base_url}, {args.runs} runs, Chromium headless; ms after navigation start")
    print(f"{'':<36}{'median':>10}{'p95':>10}{'max':>10}")
    print(line("page first contentful paint, cold", cold.page_ms))
    print(line("page first contentful paint, warm", warm.page_ms))
    print(line("launcher painted, cold cache", cold.launcher_ms))
    print(line("launcher painted, warm cache", warm.launcher_ms))
    print(line("widget ready, cold cache", cold.ready_ms))
    print(line("widget ready, warm cache", warm.ready_ms))
    print(
        f"compressed (gzip) bytes: switchboard.js {loader}; the open widget, {len(sizes)} files, {sum(sizes.values())}"
    )
    for path, size in sizes.items():
        print(f"  {size:>7}  {path}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the node serving /demo")
    parser.add_argument("--runs", type=int, default=30, help="page loads, cold and warm each")
    parser.add_argument(
        "--chromium",
        default=None,
        help="the Chromium binary (default: `chromium`, else `chromium-headless-shell`, on PATH)",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
