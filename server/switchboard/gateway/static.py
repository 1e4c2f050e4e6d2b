"""The browser clients the server serves: the widget script, the sign-in page,
the agent desk, the supervisor view and the demo page (all plain files under `widget/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path, PurePosixPath

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Our own pages load only our own scripts and styles and talk only to this
# server; nothing may frame them. (The widget runs inside other sites' pages,
# under their policy, so it is served without one.)
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGES = {
    "/login": "login.html",
    "/desk": "desk.html",
    "/supervisor": "supervisor.html",
    "/demo": "demo.html",
}
# Under /widget/ only what a page loads: the documentation (README.md, DESK.md, ...)
# and anything else that lands in the folder stays private.
PAGE_ASSETS = frozenset({".html", ".css", ".js"})


class PageAssets(StaticFiles):
    """The widget folder's page assets (the lib/ and desk/ modules included), 404 for anything else."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if PurePosixPath(path).suffix not in PAGE_ASSETS:
            return Response("not found", status_code=404, media_type="text/plain")
        return await super().get_response(path, scope)


def widget_dir(configured: Path | None = None) -> Path:
    """The folder of the browser files: the setting, else the repository's
    `widget/` (a source checkout), else `./widget` (the Docker image)."""
    if configured is not None:
        return configured
    beside_source = Path(__file__).resolve().parents[3] / "widget"
    return beside_source if beside_source.is_dir() else Path.cwd() / "widget"


def static_routes(directory: Path) -> list[BaseRoute]:
    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            path = directory / name
            if not path.is_file():
                return Response("not found", status_code=404, media_type="text/plain")
            return FileResponse(
                path,
                headers={
                    "Content-Security-Policy": PAGE_POLICY,
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-cache",
                },
            )

        return serve

    routes: list[BaseRoute] = [Route(url, page(name)) for url, name in PAGES.items()]
    if directory.is_dir():
        # As it travels: compressed for a browser that says it takes gzip (every one does).
        assets = GZipMiddleware(PageAssets(directory=directory), minimum_size=1024)
        routes.append(Mount("/widget", app=assets, name="widget"))
    return routes
