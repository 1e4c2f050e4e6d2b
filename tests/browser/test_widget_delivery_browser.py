"""The widget as it travels: what the server sends a browser for the launcher and for
the open widget (compressed, cached, under versioned names), measured in bytes."""

from __future__ import annotations

import gzip
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from test_widget_browser import WAIT_MS, Widget, connected_agent

from loadtest import first_paint
from switchboard.gateway.static import takes_gzip

LAUNCHER_LIMIT_BYTES = 20_000  # the first paint: switchboard.js alone
OPEN_WIDGET_LIMIT_BYTES = 45_000  # everything the widget loads to open and start a chat
YEAR_S = 31_536_000
VERSIONED = re.compile(r"^/widget/v/(?P<version>[0-9a-f]{16})/chat/[a-z-]+\.js$")


async def sent_compressed(http: httpx.AsyncClient, url: str) -> tuple[httpx.Response, bytes]:
    """The response to a browser that takes gzip, and its body as it travels (not decoded)."""
    response = await http.send(http.build_request("GET", url, headers={"Accept-Encoding": "gzip"}), stream=True)
    body = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return response, body


def max_age(cache_control: str) -> int:
    found = re.search(r"max-age=(\d+)", cache_control)
    assert found, cache_control
    return int(found.group(1))


async def chat_module_url(http: httpx.AsyncClient) -> str:
    loader = (await http.get("/widget/switchboard.js")).text
    version = re.search(r"const MODULES_VERSION = '([0-9a-f]{16})'", loader)
    assert version, "the server wrote no version into the loader"
    return f"/widget/v/{version.group(1)}/chat/chat.js"


async def test_the_loader_is_kept_briefly_and_revalidated_by_its_etag(sb):
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        first, body = await sent_compressed(http, "/widget/switchboard.js")
        assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
        cache = first.headers["cache-control"]
        # Its name never changes: short-lived, never immutable, with validators to ask again.
        assert "immutable" not in cache and 0 < max_age(cache) <= 3600
        assert first.headers["etag"] and first.headers["last-modified"]
        assert len(body) <= LAUNCHER_LIMIT_BYTES

        again = await http.get(
            "/widget/switchboard.js", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]}
        )
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        since = await http.get(
            "/widget/switchboard.js",
            headers={"Accept-Encoding": "gzip", "If-Modified-Since": first.headers["last-modified"]},
        )
        assert since.status_code == 304
        # The plain form is another representation, with its own ETag.
        plain = await http.get("/widget/switchboard.js", headers={"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and plain.headers["etag"] != first.headers["etag"]
        stale = await http.get("/widget/switchboard.js", headers={"If-None-Match": '"not-this-one"'})
        assert stale.status_code == 200 and stale.content == plain.content


async def test_the_chat_modules_are_versioned_immutable_and_no_other_version_is_served(sb):
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        url = await chat_module_url(http)
        module, body = await sent_compressed(http, url)
        assert module.status_code == 200 and module.headers["content-encoding"] == "gzip"
        assert module.headers["cache-control"] == f"public, max-age={YEAR_S}, immutable"
        assert module.headers["content-type"].startswith("text/javascript")
        # import() from a page of another origin is a CORS request.
        assert module.headers["access-control-allow-origin"] == "*"
        assert gzip.decompress(body) == (await http.get(url)).content

        version = VERSIONED.match(url)
        assert version
        other = url.replace(version["version"], "0" * 16)
        for missing in (other, url.replace("chat.js", "nothing.js"), url.replace("chat/chat.js", "../switchboard.js")):
            assert (await http.get(missing)).status_code == 404, missing


@pytest.mark.parametrize(
    ("header", "takes"),
    [
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("*", True),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_which_accept_encoding_takes_gzip(header: str, takes: bool) -> None:
    assert takes_gzip(header) is takes


async def test_the_open_widget_downloads_at_most_45_kb_compressed(browser, sb):
    """Every file the page loads from /widget/ to draw the launcher, open the panel and start
    a chat, each measured as the server sends it to a browser that takes gzip."""
    loaded: list[str] = []
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    page.on("response", lambda response: loaded.append(response.url))
    w = Widget(page)
    await page.goto(f"{sb.node.base}/demo")
    await w.start_chat()
    await expect(page.locator(".status")).to_have_text(re.compile("queue|Waiting"))

    prefix = sb.node.base + "/widget/"
    widget_files = sorted({url.removeprefix(sb.node.base) for url in loaded if url.startswith(prefix)})
    widget_files = [path for path in widget_files if path != "/widget/demo.css" and path != "/widget/demo.js"]
    assert "/widget/switchboard.js" in widget_files
    modules = [path for path in widget_files if path != "/widget/switchboard.js"]
    assert modules and all(VERSIONED.match(path) for path in modules), modules

    sizes: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        for path in widget_files:
            response, body = await sent_compressed(http, path)
            assert response.status_code == 200 and response.headers["content-encoding"] == "gzip", path
            sizes[path] = len(body)
    assert sizes["/widget/switchboard.js"] <= LAUNCHER_LIMIT_BYTES
    assert sum(sizes.values()) <= OPEN_WIDGET_LIMIT_BYTES, sizes
    assert w.problems == []
    await ctx.close()


async def test_the_first_paint_tool_measures_the_launcher_and_the_bytes(browser, sb):
    """loadtest/first_paint.py still runs (its figures are in docs/performance.md; no timing is asserted)."""
    cold, warm, files = await first_paint.run(browser, sb.node.base, runs=1)
    assert len(cold.launcher_ms) == len(warm.launcher_ms) == len(cold.ready_ms) == len(warm.page_ms) == 1
    sizes = await first_paint.compressed_sizes(sb.node.base, files)
    assert sizes["/widget/switchboard.js"] <= LAUNCHER_LIMIT_BYTES
    assert sum(sizes.values()) <= OPEN_WIDGET_LIMIT_BYTES


async def test_a_failed_module_import_is_tried_again(browser, sb):
    """As during a rolling release: the loader came from an updated node, the modules were
    asked of one still on the old release (404). The loader tries again and the chat comes up."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(WAIT_MS)
    page = await ctx.new_page()
    asked: list[str] = []

    async def old_node_first(route: Any) -> None:
        asked.append(route.request.url)
        if len(asked) == 1:
            await route.fulfill(status=404, content_type="text/plain", body="not found")
        else:
            await route.continue_()

    await page.route(re.compile(r"/widget/v/[0-9a-f]+/chat/chat\.js"), old_node_first)
    w = Widget(page)
    await page.goto(f"{sb.node.base}/demo")
    await w.launcher.click()
    await expect(w.panel).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_focused()
    assert len(asked) == 2 and asked[1].endswith("chat.js?attempt=1")
    await ctx.close()


async def test_a_page_of_another_origin_imports_the_modules_across_origins(browser, sb, tmp_path):
    """The usual embedding: the shop's own page, from its own server, includes the script from
    the chat server. The modules are imported across origins, which works because they are
    served with CORS."""
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="en"><head><title>Shop</title><link rel="icon" href="data:,"></head><body><main><h1>Shop</h1></main>'
        f'<script src="{sb.node.base}/widget/switchboard.js" data-queue="support" async></script></body></html>'
    )
    shop_server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    serving = threading.Thread(target=shop_server.serve_forever, daemon=True)
    serving.start()
    shop = f"http://127.0.0.1:{shop_server.server_address[1]}"
    try:
        ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.set_default_timeout(WAIT_MS)
        page = await ctx.new_page()
        w = Widget(page)
        modules: list[Any] = []
        page.on("response", lambda response: modules.append(response) if "/widget/v/" in response.url else None)
        await page.goto(f"{shop}/")
        await w.launcher.click()
        await page.get_by_label("Name").fill("Bob")
        await page.get_by_role("button", name="Start chat").click()
        _, cid = await connected_agent(sb)
        journey = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]["journey"]
        assert journey[0]["url"] == f"{shop}/"
        assert modules and all(m.url.startswith(sb.node.base) and m.status == 200 for m in modules)
        assert all(m.headers["access-control-allow-origin"] == "*" for m in modules)
        assert w.problems == []
        await ctx.close()
    finally:
        shop_server.shutdown()
        shop_server.server_close()
