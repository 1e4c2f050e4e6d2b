"""Attachments in a real Chromium: the customer in the widget (demo page) and the agent in the
desk, both against a real node, Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import httpx
from browser.test_desk_browser import accept_offer, go_available, open_desk
from browser.test_widget_browser import Widget
from gateway.test_attachments import PDF, photo_with_gps, png
from PIL import Image
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, Route, expect

from support import eventually

HOSTILE_NAME = "<img src=x onerror=alert(1)>.png"  # as the issue names it


async def choose_file(page: Page, name: str, mime: str, data: bytes) -> None:
    """The customer clicks the widget's file button and picks a file."""
    async with page.expect_file_chooser() as chosen:
        await page.get_by_role("button", name="Attach a file").click()
    await (await chosen.value).set_files({"name": name, "mimeType": mime, "buffer": data})


DROP = """([selector, name, type, bytes]) => {
  const zone = document.querySelector(selector);
  const data = new DataTransfer();
  data.items.add(new File([new Uint8Array(bytes)], name, { type }));
  for (const kind of ['dragenter', 'dragover', 'drop']) {
    zone.dispatchEvent(new DragEvent(kind, { dataTransfer: data, bubbles: true, cancelable: true }));
  }
}"""

LOADED = "(img) => img.complete && img.naturalWidth > 0"


async def chat_between(browser: Any, sb: Any) -> tuple[Widget, Page, list[str], Any]:
    """A customer in the widget connected to alice in the desk."""
    token = await sb.agent("alice")
    desk, desk_errors = await open_desk(browser, sb, token)
    await go_available(desk, sb, "alice")
    widget = await Widget.open_demo(browser, sb)
    await widget.start_chat("I have a photo of the damage")
    await accept_offer(desk)
    await expect(widget.page.locator(".sub")).to_have_text("Chatting with Alice")
    return widget, desk, desk_errors, token


async def test_a_photo_goes_to_the_agent_without_its_gps_and_a_pdf_comes_back_by_drag_and_drop(browser, sb):
    widget, desk, desk_errors, _token = await chat_between(browser, sb)
    page = widget.page

    await choose_file(page, "damage.jpg", "image/jpeg", photo_with_gps())
    thumb = desk.locator("#transcript .msg-customer .msg-file img.thumb")
    await expect(thumb).to_be_visible()
    assert await thumb.evaluate(LOADED)  # the signed thumbnail loads under the desk's CSP
    await expect(desk.locator("#transcript .msg-customer .file-name")).to_have_text("damage.jpg")
    own = page.locator("li.msg.customer .bubble img.thumb")
    await expect(own).to_be_visible()
    assert await own.evaluate(LOADED)
    href = await desk.locator("#transcript .msg-customer .msg-file a").get_attribute("href")
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        downloaded = (await http.get(href or "")).content
    assert not Image.open(io.BytesIO(downloaded)).getexif() and b"PhoneMaker" not in downloaded

    # The agent drops a PDF on the conversation: the customer gets a download link with its name.
    await desk.evaluate(DROP, ["#conv", "invoice.pdf", "application/pdf", list(PDF)])
    link = page.locator("li.msg.agent .bubble a.file")
    await expect(link).to_contain_text("invoice.pdf")
    assert await link.get_attribute("download") == "invoice.pdf"
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        pdf = await http.get(await link.get_attribute("href") or "")
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    assert desk_errors == [] and widget.problems == []


async def test_the_upload_shows_its_progress_can_be_cancelled_and_a_refusal_is_said_in_words(browser, sb):
    widget, desk, _desk_errors, _token = await chat_between(browser, sb)
    page = widget.page
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()

    async def hold(route: Route) -> None:  # the upload waits here until the test lets it go
        held.set_result(route)

    await page.route("**/attachments", hold)
    await choose_file(page, "slow.txt", "text/plain", b"some notes")
    route = await asyncio.wait_for(held, 10)
    bar = page.locator(".upload")
    await expect(bar.locator("progress")).to_be_visible()
    await expect(bar.locator(".upload-name")).to_have_text("slow.txt")
    await bar.get_by_role("button", name="Cancel upload").click()
    await expect(bar.locator(".upload-error")).to_have_text("Upload cancelled.")
    await expect(bar.locator("progress")).to_be_hidden()
    try:
        await route.abort()
    except PlaywrightError:
        pass  # the page dropped the request itself
    await page.unroute("**/attachments")

    await choose_file(page, "tool.exe", "application/octet-stream", b"MZ\x90\x00" + bytes(300))
    await expect(bar.locator(".upload-error")).to_have_text(
        "This type of file cannot be sent. Images, PDF and text files can."
    )
    await choose_file(page, "notes.txt", "text/plain", b"after all")
    await expect(page.locator("li.msg.customer .bubble a.file")).to_contain_text("notes.txt")
    await expect(bar.locator(".upload-error")).to_have_text("")
    # nothing of the cancelled upload reached the agent
    await expect(desk.locator("#transcript .msg-file")).to_have_count(1)
    assert [p for p in widget.problems if "415" not in p] == []


async def test_a_hostile_file_name_shows_as_text_on_both_sides(browser, sb):
    widget, desk, desk_errors, _token = await chat_between(browser, sb)
    page = widget.page
    alerts: list[str] = []
    for side in (page, desk):
        side.on("dialog", lambda dialog: alerts.append(dialog.message))
    await choose_file(page, HOSTILE_NAME, "image/png", png())
    await expect(desk.locator("#transcript .msg-customer .msg-file img.thumb")).to_be_visible()
    await expect(desk.locator("#transcript .msg-customer .file-name")).to_have_text(HOSTILE_NAME)
    await expect(page.locator("li.msg.customer .bubble .file-name")).to_have_text(HOSTILE_NAME)

    async def unharmed(on: Page) -> bool:
        return await on.evaluate(
            """() => {
              const roots = [document];
              for (const el of document.querySelectorAll('*')) if (el.shadowRoot) roots.push(el.shadowRoot);
              return roots.every((root) => !root.querySelector('img[onerror], img[src="x"]'));
            }"""
        )

    assert await eventually(lambda: unharmed(desk)) and await unharmed(page)
    assert alerts == [] and desk_errors == [] and widget.problems == []
