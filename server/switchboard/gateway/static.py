"""The browser clients the server serves: the widget script, the sign-in page,
the agent desk, the supervisor view, the admin console, the page that sets a
password from an invitation's link, and the demo page (all plain files under `widget/`)."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path, PurePosixPath

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route

# Our own pages load only our own scripts and styles and talk only to this
# server; nothing may frame them. (The widget runs inside other sites' pages,
# under their policy, so it is served without one.)
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# The demo page stands for a customer's site: the rich messages' cards show images from the web.
DEMO_POLICY = PAGE_POLICY.replace("img-src 'self' data:", "img-src 'self' data: https:")
PAGES = {
    "/login": "login.html",
    "/desk": "desk.html",
    "/supervisor": "supervisor.html",
    "/admin": "admin.html",
    "/password": "password.html",
    "/demo": "demo.html",
}
# Under /widget/ only what a page loads: the documentation (README.md, DESK.md, ...)
# and anything else that lands in the folder stays private.
PAGE_ASSETS = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}

# The widget: the one script host pages include (its address never changes), and the
# modules it imports (under an address that changes with their content).
LOADER = "switchboard.js"
MODULES = "chat"
MODULES_VERSION_PLACEHOLDER = b"__SWITCHBOARD_MODULES_VERSION__"
JAVASCRIPT = PAGE_ASSETS[".js"]
# Host pages keep the loader a few minutes, then ask again with its ETag (a 304 costs
# no body), so a new release reaches them within that time.
LOADER_CACHE = "public, max-age=300"
# A versioned address always holds the same bytes.
VERSIONED_CACHE = "public, max-age=31536000, immutable"
# The other page assets live at addresses that do not change with their bytes: a browser
# asks again each time (a 304 when its copy is current), so a new release shows at once.
ASSET_CACHE = "no-cache"


def not_found() -> Response:
    return Response("not found", status_code=404, media_type="text/plain")


class PageAssets:
    """The page assets of a folder (`.html`, `.css`, `.js`, its subfolders' too), held in
    memory: each read at its first request and again when the file changes, gzipped once,
    answered with its validators. Anything else, and any path that leads out of the folder,
    is not found. A desk's start asks for some thirty modules: from memory, without a
    thread per file read and a compression per answer, that costs the node a few
    milliseconds, not fifty."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self._held: dict[Path, tuple[tuple[int, int], HeldFile]] = {}

    async def serve(self, request: Request) -> Response:
        file = await self.file(request.path_params["path"])
        if file is None:
            return not_found()
        return file.response(request)

    async def file(self, path: str) -> HeldFile | None:
        media_type = PAGE_ASSETS.get(PurePosixPath(path).suffix)
        if media_type is None:
            return None
        try:
            found = (self.directory / path).resolve(strict=True)
            status = found.stat()
        except (OSError, ValueError):  # missing, or a path the system refuses (a NUL byte)
            return None
        if not found.is_relative_to(self.directory) or not stat.S_ISREG(status.st_mode):
            return None
        version = (status.st_mtime_ns, status.st_size)
        held = self._held.get(found)
        if held is not None and held[0] == version:
            return held[1]
        body = await asyncio.to_thread(found.read_bytes)
        file = HeldFile.of(body, ASSET_CACHE, cross_origin=False, modified_at=status.st_mtime, media_type=media_type)
        self._held[found] = (version, file)
        return file

    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self.serve)]


def widget_dir(configured: Path | None = None) -> Path:
    """The folder of the browser files: the setting, else the repository's
    `widget/` (a source checkout), else `./widget` (the Docker image)."""
    if configured is not None:
        return configured
    beside_source = Path(__file__).resolve().parents[3] / "widget"
    return beside_source if beside_source.is_dir() else Path.cwd() / "widget"


def takes_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header accepts gzip, by name or as `*` (`gzip;q=0` refuses it)."""
    qualities: dict[str, str] = {}
    for coding in accept_encoding.lower().split(","):
        name, _, params = coding.partition(";")
        params = params.strip()
        qualities[name.strip()] = params[2:] if params.startswith("q=") else "1"
    quality = qualities.get("gzip", qualities.get("*", "0"))
    try:
        return float(quality) > 0
    except ValueError:
        return False


@functools.lru_cache(maxsize=512)
def _gzipped(body: bytes) -> bytes:
    """The gzip form of a file's bytes, made once per process: a process that makes
    several apps (the test suite makes one per test) compresses the same files once."""
    return gzip.compress(body, mtime=0)


@dataclass(frozen=True)
class HeldFile:
    """One file held in memory: its bytes as read, their gzip form, and the validators a
    browser revalidates its copy with."""

    body: bytes
    compressed: bytes  # empty when gzip would not make it smaller
    etag: str
    last_modified: str
    cache_control: str
    cross_origin: bool  # imported as a module by pages of other origins, which needs CORS
    media_type: str

    @classmethod
    def of(
        cls, body: bytes, cache_control: str, cross_origin: bool, modified_at: float, media_type: str = JAVASCRIPT
    ) -> HeldFile:
        digest = hashlib.sha256(body).hexdigest()[:32]
        compressed = _gzipped(body)
        return cls(
            body=body,
            compressed=compressed if len(compressed) < len(body) else b"",
            etag=f'"{digest}"',
            last_modified=formatdate(modified_at, usegmt=True),
            cache_control=cache_control,
            cross_origin=cross_origin,
            media_type=media_type,
        )

    def response(self, request: Request) -> Response:
        gzipped = bool(self.compressed) and takes_gzip(request.headers.get("accept-encoding", ""))
        # Each encoding is its own representation, with its own ETag.
        etag = self.etag[:-1] + '-gzip"' if gzipped else self.etag
        headers = {
            "Cache-Control": self.cache_control,
            "ETag": etag,
            "Last-Modified": self.last_modified,
            "Vary": "Accept-Encoding",
            "X-Content-Type-Options": "nosniff",
        }
        if self.cross_origin:
            headers["Access-Control-Allow-Origin"] = "*"
        if not_modified(request.headers, etag, self.last_modified):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(self.compressed if gzipped else self.body, media_type=self.media_type, headers=headers)


def not_modified(request_headers: Headers, etag: str, last_modified: str) -> bool:
    if_none_match = request_headers.get("if-none-match")
    if if_none_match is not None:  # it wins over If-Modified-Since
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return etag in tags or "*" in tags
    return request_headers.get("if-modified-since") == last_modified


@dataclass(frozen=True)
class WidgetFiles:
    """The widget's files, read once when the server starts. The version is a hash of the
    modules' paths and bytes: the server writes it into the loader (over a placeholder), so
    the loader imports `/widget/v/<version>/chat/chat.js` and the modules' relative imports
    resolve under the same version. A release that changes any module changes the version;
    an address with another version is not found, so no browser gets new bytes under an
    old address or old bytes under a new one."""

    version: str
    loader: HeldFile | None
    modules: dict[str, HeldFile]  # path under /widget/v/<version>/ -> file

    @classmethod
    def read(cls, directory: Path) -> WidgetFiles:
        module_dir = directory / MODULES
        paths = sorted(module_dir.rglob("*.js")) if module_dir.is_dir() else []
        fingerprint = hashlib.sha256()
        sources: dict[str, tuple[bytes, float]] = {}
        for path in paths:
            name = path.relative_to(directory).as_posix()
            body = path.read_bytes()
            sources[name] = (body, path.stat().st_mtime)
            fingerprint.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        version = fingerprint.hexdigest()[:16]
        modules = {
            name: HeldFile.of(body, VERSIONED_CACHE, cross_origin=True, modified_at=mtime)
            for name, (body, mtime) in sources.items()
        }
        loader_path = directory / LOADER
        loader = None
        if loader_path.is_file():
            body = loader_path.read_bytes().replace(MODULES_VERSION_PLACEHOLDER, version.encode())
            loader = HeldFile.of(body, LOADER_CACHE, cross_origin=False, modified_at=loader_path.stat().st_mtime)
        return cls(version=version, loader=loader, modules=modules)

    async def serve_loader(self, request: Request) -> Response:
        if self.loader is None:
            return not_found()
        return self.loader.response(request)

    async def serve_module(self, request: Request) -> Response:
        module = self.modules.get(request.path_params["path"])
        if request.path_params["version"] != self.version or module is None:
            return not_found()
        return module.response(request)


def static_routes(directory: Path) -> list[BaseRoute]:
    def page(name: str) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            path = directory / name
            if not path.is_file():
                return not_found()
            return FileResponse(
                path,
                headers={
                    "Content-Security-Policy": DEMO_POLICY if name == "demo.html" else PAGE_POLICY,
                    "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-cache",
                },
            )

        return serve

    routes: list[BaseRoute] = [Route(url, page(name)) for url, name in PAGES.items()]
    if directory.is_dir():
        widget = WidgetFiles.read(directory)
        widget_routes: list[BaseRoute] = [
            Route(f"/{LOADER}", widget.serve_loader),
            Route("/v/{version}/{path:path}", widget.serve_module),
            *PageAssets(directory).routes(),
        ]
        routes.append(Mount("/widget", routes=widget_routes, name="widget"))
    return routes
