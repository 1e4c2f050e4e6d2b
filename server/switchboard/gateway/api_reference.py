"""The API reference page: `/docs/api` renders `/api/v1/openapi.json` with the Swagger UI
vendored in `reference/` (its README.md says where it comes from and how to refresh it)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .static import PAGE_POLICY, PageAssets

REFERENCE = Path(__file__).with_name("reference")
# Our pages' policy as it is: Swagger UI runs from our own files without inline
# scripts, eval or inline style markup (its icons are data: images, which the policy
# allows), and fetches only the document from this server. The browser test
# (tests/browser/test_api_reference_browser.py) checks the page refuses nothing.
REFERENCE_POLICY = PAGE_POLICY


async def api_reference(request: Request) -> Response:
    return FileResponse(
        REFERENCE / "api.html",
        headers={
            "Content-Security-Policy": REFERENCE_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


routes: list[BaseRoute] = [
    Route("/docs/api", api_reference),
    # The bundle is 1.7 MB as it is and about 0.5 MB compressed.
    Mount("/docs/api/assets", routes=PageAssets(REFERENCE).routes()),
]
