"""`/docs/api`: the API reference renders the OpenAPI document, under its policy, with no console error."""

from __future__ import annotations

import httpx
from playwright.async_api import expect

from conftest import ADMIN_TOKEN


async def test_the_reference_page_renders_every_operation(sb, browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    # what the page's Content-Security-Policy refused, had it refused anything
    await page.add_init_script(
        "window.refused = [];"
        "document.addEventListener('securitypolicyviolation', e => refused.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    response = await page.goto(f"{sb.node.base}/docs/api")
    assert response is not None and response.status == 200
    assert "script-src 'self';" in response.headers["content-security-policy"]
    # an operation's summary and path, as Swagger UI shows them
    await expect(page.get_by_text("Create or replace a queue")).to_be_visible()
    await expect(page.locator(".opblock-summary-path", has_text="/api/v1/queues/{id}").first).to_be_visible()
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        operations = sum(len(item) for item in (await anonymous.get("/api/v1/openapi.json")).json()["paths"].values())
    await expect(page.locator(".opblock")).to_have_count(operations)
    await expect(page.get_by_role("button", name="Authorize")).to_be_visible()  # the bearer schemes
    # one operation opened shows its parameters and its responses
    await page.locator(".opblock-summary", has_text="Search the conversations").click()
    await expect(page.get_by_text("conversations a page")).to_be_visible()
    await expect(page.locator(".opblock.is-open .highlight-code").first).to_be_visible()  # an example body
    # a call tried from the page, with the admin token: it reaches this server under the page's policy
    await page.get_by_role("button", name="Authorize").click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("input").first.fill(ADMIN_TOKEN)
    await dialog.locator("button.authorize").first.click()  # labelled "Apply credentials"
    await dialog.locator("button.btn-done").first.click()
    listing = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/api/v1/queues")).first
    await listing.locator(".opblock-summary").click()
    await listing.get_by_role("button", name="Try it out").click()
    await listing.get_by_role("button", name="Execute").click()
    await expect(listing.locator(".live-responses-table .response .response-col_status").first).to_have_text("200")
    await expect(listing.locator(".live-responses-table")).to_contain_text('"support"')
    assert await page.evaluate("window.refused") == []
    assert problems == []
    assert all(url.startswith(sb.node.base) for url in requested), requested  # nothing from elsewhere
    await context.close()
