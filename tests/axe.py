"""Accessibility checks with axe-core in the browser tests.

axe-core is installed from npm by `make axe` (tests/browser_assets, outside the
served widget folder) and injected into the page under test; nothing comes
from a CDN.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_SCRIPT = Path(__file__).parent / "browser_assets" / "node_modules" / "axe-core" / "axe.min.js"
# What fails a test: every impact that axe reports except "minor".
FAILING_IMPACTS = frozenset({"moderate", "serious", "critical"})


async def assert_accessible(page: Page) -> None:
    """Run axe-core over the page as it is now; fail on any moderate or worse violation."""
    assert AXE_SCRIPT.is_file(), f"{AXE_SCRIPT} is missing: run `make axe`"
    if not await page.evaluate("typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol: a <script> tag (add_script_tag)
        # would be inline script, which the pages' policy rightly refuses.
        await page.evaluate(AXE_SCRIPT.read_text() + "\n;undefined")
    results: dict[str, Any] = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    failing = [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "targets": [n["target"] for n in v["nodes"]]}
        for v in results["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]
    assert not failing, "axe-core violations:\n" + json.dumps(failing, indent=2)
