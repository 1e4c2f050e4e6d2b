"""The pages' scripts and styles under /widget/: served from memory, gzipped, revalidated
at each load, read again when their file changes, and nothing outside the folder."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import httpx

WIDGET = Path(__file__).resolve().parents[2] / "widget"


async def test_a_desk_module_is_gzipped_and_a_current_copy_gets_a_bodiless_304(sb):
    raw = await sb.http.get("/widget/desk.js", headers={"Accept-Encoding": "gzip"})
    assert raw.status_code == 200
    assert raw.headers["content-encoding"] == "gzip" and "accept-encoding" in raw.headers["vary"].lower()
    assert raw.headers["content-type"].startswith("text/javascript")
    assert raw.headers["cache-control"] == "no-cache" and raw.headers["x-content-type-options"] == "nosniff"
    assert raw.content == (WIDGET / "desk.js").read_bytes()

    again = await sb.http.get(
        "/widget/desk.js", headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""

    style = await sb.http.get("/widget/desk.css", headers={"Accept-Encoding": "identity"})
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
    assert "content-encoding" not in style.headers and style.content == (WIDGET / "desk.css").read_bytes()


async def test_a_file_changed_on_disk_is_served_anew(make_deployment, tmp_path):
    folder = tmp_path / "widget"
    (folder / "lib").mkdir(parents=True)
    module = folder / "lib" / "page.js"
    module.write_text("export const version = 1;\n")
    deployment = await make_deployment(widget_dir=folder)

    first = await deployment.http.get("/widget/lib/page.js")
    assert first.text == "export const version = 1;\n"

    module.write_text("export const version = 2; // and a longer file\n" + "// padding\n" * 200)
    second = await deployment.http.get("/widget/lib/page.js", headers={"If-None-Match": first.headers["etag"]})
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    assert second.text.startswith("export const version = 2;")
    # Long enough to be worth compressing now: the gzip form is of the new bytes.
    packed = await deployment.http.get("/widget/lib/page.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip" and packed.text == second.text


async def test_nothing_but_page_assets_inside_the_folder_is_served(make_deployment, tmp_path):
    folder = tmp_path / "widget"
    folder.mkdir()
    (folder / "page.js").write_text("export {};\n")
    (folder / "notes.txt").write_text("private")
    (tmp_path / "outside.js").write_text("export const secret = 1;\n")
    os.symlink(tmp_path / "outside.js", folder / "link.js")
    deployment = await make_deployment(widget_dir=folder)

    assert (await deployment.http.get("/widget/page.js")).status_code == 200
    for path in (
        "/widget/notes.txt",  # not a page asset
        "/widget/link.js",  # leads out of the folder
        "/widget/%2e%2e/outside.js",
        "/widget/..%2foutside.js",
        "/widget/",
        "/widget/missing.js",
        "/widget/page.js%00.js",
    ):
        answer = await deployment.http.get(path)
        assert answer.status_code == 404, path
        assert b"secret" not in answer.content and b"private" not in answer.content, path


async def test_the_api_reference_bundle_is_sent_compressed(sb):
    async with (
        httpx.AsyncClient(base_url=sb.node.base) as http,
        http.stream("GET", "/docs/api/assets/swagger-ui-bundle.js", headers={"Accept-Encoding": "gzip"}) as raw,
    ):
        assert raw.status_code == 200 and raw.headers["content-encoding"] == "gzip"
        packed = b"".join([chunk async for chunk in raw.aiter_raw()])
    bundle = Path(__file__).resolve().parents[2] / "server" / "switchboard" / "gateway" / "reference"
    assert gzip.decompress(packed) == (bundle / "swagger-ui-bundle.js").read_bytes()
    assert len(packed) < len(gzip.decompress(packed)) / 2
