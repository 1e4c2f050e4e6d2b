"""Attachments over real HTTP, real sockets, Redis and PostgreSQL: upload, the message of kind
`attachment` on every party's socket and on resume, the download's headers and signatures,
and the files following erasure and export."""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
from PIL import Image

from conftest import ADMIN_TOKEN
from support import Client, eventually
from switchboard.domain import frames as f
from switchboard.domain.attachments import UrlSigner

GPS_IFD = 0x8825
MAKE = 0x010F


def photo_with_gps() -> bytes:
    """A JPEG as a phone takes it: EXIF with the camera's make and a GPS position."""
    exif = Image.Exif()
    exif[MAKE] = "PhoneMaker"
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 1.0)}
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (20, 10), (255, 0, 0, 128)).save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


async def served(sb: Any, **queue: Any) -> tuple[Client, dict[str, Any], Client, str, str]:
    """A customer connected to alice: (customer, its welcome, agent, the agent's token, conversation id)."""
    if queue:
        await sb.queue("support", **queue)
    token = await sb.agent("alice")
    agent, _ = await sb.agent_socket(token)
    await agent.ok({"type": "set_state", "state": "available"})
    customer, welcome = await sb.customer()
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "Hello"})
    cid = started["conversation_id"]
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await customer.expect("chat.connected")
    return customer, welcome, agent, token, cid


async def upload(
    sb: Any, cid: str, token: str | None, name: str, data: bytes, content_type: str = "application/octet-stream"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as client:
        return await client.post(
            f"/api/v1/conversations/{cid}/attachments", files={"file": (name, data, content_type)}, headers=headers
        )


async def fetch(sb: Any, url: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as client:
        return await client.get(url)


def is_attachment(frame: dict[str, Any]) -> bool:
    return frame.get("type") == "message" and frame.get("kind") == "attachment"


async def test_a_photo_reaches_both_parties_without_its_gps_data_and_with_a_thumbnail(sb):
    customer, welcome, agent, _token, cid = await served(sb)
    photo = photo_with_gps()
    assert b"PhoneMaker" in photo
    answer = await upload(sb, cid, welcome["visitor_token"], "holiday.jpg", photo, "image/jpeg")
    assert answer.status_code == 201, answer.text
    sent = answer.json()
    assert set(sent) == {"id", "name", "size", "type", "url", "thumbnail_url"}
    assert sent["name"] == "holiday.jpg" and sent["type"] == "image/jpeg"
    for client in (customer, agent):  # every party's socket, like any message
        message = await client.wait(is_attachment)
        assert message["attachment"]["id"] == sent["id"] and message["text"] == "holiday.jpg"
        assert message["from"]["role"] == "customer"
    download = await fetch(sb, sent["url"])
    assert download.status_code == 200 and download.headers["content-type"] == "image/jpeg"
    assert len(download.content) == sent["size"]
    stored = Image.open(io.BytesIO(download.content))
    assert stored.size == (640, 480)
    assert not stored.getexif() and b"PhoneMaker" not in download.content  # re-encoded: no EXIF, no GPS
    thumbnail = await fetch(sb, sent["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.headers["content-type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumbnail.content)).size) <= 320


async def test_the_type_comes_from_the_bytes_never_from_the_name(sb):
    _customer, welcome, agent, token, cid = await served(sb)
    renamed = await upload(sb, cid, welcome["visitor_token"], "invoice.pdf", png(), "application/pdf")
    assert renamed.status_code == 201 and renamed.json()["type"] == "image/png"
    html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
    refused = await upload(sb, cid, token, "cat.png", html, "image/png")
    assert refused.status_code == 415 and refused.json()["error"]["code"] == "unsupported_type"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert (await upload(sb, cid, token, "logo.svg", svg, "image/svg+xml")).status_code == 415
    assert (await upload(sb, cid, token, "tool.exe", b"MZ\x90\x00" + bytes(200))).status_code == 415
    text = await upload(sb, cid, token, "notes.txt", "Grüße\nline two\n".encode(), "text/plain")
    assert text.status_code == 201 and text.json()["type"] == "text/plain" and "thumbnail_url" not in text.json()
    pdf = await upload(sb, cid, token, "../../etc/Rechnung\u202e 2026.pdf", PDF)
    assert pdf.status_code == 201 and pdf.json()["name"] == "Rechnung 2026.pdf"
    message = await agent.wait(lambda f: is_attachment(f) and f["attachment"]["id"] == pdf.json()["id"])
    assert message["from"] == {"role": "agent", "id": "alice", "display_name": "Alice"}


async def test_a_queue_limits_the_size_and_the_types(sb):
    _customer, welcome, _agent, token, cid = await served(sb, attachments={"max_bytes": 1000, "types": ["image/png"]})
    assert (await upload(sb, cid, token, "small.png", png())).status_code == 201
    assert (await upload(sb, cid, token, "doc.pdf", PDF)).status_code == 415
    too_large = await upload(sb, cid, welcome["visitor_token"], "big.txt", b"a" * 2000)
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "too_large"


async def test_an_oversize_upload_is_refused_before_it_is_read_whole(sb):
    _customer, welcome, _agent, _token, cid = await served(sb, attachments={"max_bytes": 1000})
    # chunked, so no Content-Length tells the size: the server counts what arrives, and the
    # answer comes while the client is still sending
    reader, writer = await asyncio.open_connection("127.0.0.1", sb.node.port)
    writer.write(
        f"POST /api/v1/conversations/{cid}/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {welcome['visitor_token']}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\n' + b"a" * 65536
    sent = 0
    try:
        while not answer.done() and sent < 50_000_000:
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            sent += len(part)
            part = b"a" * 65536
    except ConnectionError:
        pass  # the server answered and closed while the body was still coming
    head = await asyncio.wait_for(answer, 10)
    writer.close()
    assert head.startswith(b"HTTP/1.1 413")
    assert sent < 5_000_000
    declared = await upload(sb, cid, welcome["visitor_token"], "big.txt", b"a" * 40_000)
    assert declared.status_code == 413


async def test_only_a_party_of_the_live_conversation_may_upload(sb):
    _customer, welcome, _agent, _token, cid = await served(sb)
    _other, other_welcome = await sb.customer()
    assert (await upload(sb, cid, other_welcome["visitor_token"], "a.txt", b"hi")).status_code == 403
    bob = await sb.agent("bob")
    assert (await upload(sb, cid, bob, "a.txt", b"hi")).status_code == 403
    assert (await upload(sb, cid, None, "a.txt", b"hi")).status_code == 401
    assert (await upload(sb, cid, "v1.forged.token", "a.txt", b"hi")).status_code == 401
    assert (await upload(sb, cid, ADMIN_TOKEN, "a.txt", b"hi")).status_code == 401  # not a party
    assert (await upload(sb, "c_unknown", welcome["visitor_token"], "a.txt", b"hi")).status_code == 404


async def test_resume_and_reads_sign_the_urls_afresh(sb):
    customer, welcome, _agent, token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "note.txt", b"hello")).json()
    message = await customer.wait(is_attachment)
    again, _rewelcome = await sb.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": message["seq"] - 1}
    )
    replayed = await again.wait(is_attachment)
    assert replayed["seq"] == message["seq"] and replayed["attachment"]["id"] == sent["id"]
    assert (await fetch(sb, replayed["attachment"]["url"])).content == b"hello"
    async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {token}"}) as desk:
        read = (await desk.get(f"/api/v1/conversations/{cid}")).json()
    listed = [m for m in read["messages"] if m.get("kind") == "attachment"]
    assert listed and (await fetch(sb, listed[0]["attachment"]["url"])).status_code == 200


async def test_downloads_are_served_so_that_no_browser_runs_them(sb):
    _customer, welcome, _agent, _token, cid = await served(sb)
    text = (await upload(sb, cid, welcome["visitor_token"], "naïve notes.txt", b"plain words")).json()
    response = await fetch(sb, text["url"])
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    disposition = response.headers["content-disposition"]
    assert disposition == "attachment; filename=\"na_ve notes.txt\"; filename*=UTF-8''na%C3%AFve%20notes.txt"
    image = (await upload(sb, cid, welcome["visitor_token"], "dot.png", png())).json()
    assert (await fetch(sb, image["url"])).headers["content-disposition"].startswith("inline;")


async def test_a_forged_or_expired_signature_is_refused(sb):
    _customer, welcome, _agent, _token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "a.txt", b"secret")).json()
    query = parse_qs(urlsplit(sent["url"]).query)
    forged = f"/api/v1/attachments/{sent['id']}?exp={query['exp'][0]}&sig=AAAA"
    assert (await fetch(sb, forged)).status_code == 403
    assert (await fetch(sb, f"/api/v1/attachments/{sent['id']}")).status_code == 401  # no signature at all
    later = int(query["exp"][0]) + 10  # a longer life, with the old signature
    assert (await fetch(sb, f"/api/v1/attachments/{sent['id']}?exp={later}&sig={query['sig'][0]}")).status_code == 403
    signer = UrlSigner(sb.node.settings.secret)
    expired = signer.url(sent["id"], "file", int(time.time()) - 1)
    assert (await fetch(sb, expired)).status_code == 403
    thumbnail_as_file = signer.url(sent["id"], "thumbnail", int(time.time()) + 60).replace("/thumbnail", "")
    assert (await fetch(sb, thumbnail_as_file)).status_code == 403
    assert (await fetch(sb, signer.url("att_gone", "file", int(time.time()) + 60))).status_code == 404


async def test_export_contains_the_files_and_erasure_deletes_them(sb):
    _customer, welcome, _agent, _token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "a.txt", b"my data")).json()
    vid = welcome["visitor_id"]
    exported = await sb.admin("GET", f"/api/v1/visitors/{vid}/export")
    [kept] = exported["attachments"]
    assert kept["id"] == sent["id"] and kept["content_base64"] == "bXkgZGF0YQ==" and kept["conversation_id"] == cid
    await sb.admin("DELETE", f"/api/v1/visitors/{vid}", expect=204)
    assert (await fetch(sb, sent["url"])).status_code == 404


async def test_retention_deletes_the_files_with_their_conversation(make_deployment):
    sb = await make_deployment(retention_days=0.0000001, retention_sweep_s=0.2)
    await sb.queue("support")
    _customer, welcome, agent, _token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "a.txt", b"old")).json()
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})

    async def gone() -> bool:
        return (await fetch(sb, sent["url"])).status_code == 404

    await eventually(gone, timeout=20)


async def test_without_postgresql_an_upload_says_when_to_try_again_and_adds_no_message(make_deployment):
    sb = await make_deployment()
    await sb.queue("support")
    customer, welcome, _agent, _token, cid = await served(sb)
    sb.node.services.database.pool.terminate()  # PostgreSQL gone from under the node
    response = await upload(sb, cid, welcome["visitor_token"], "a.txt", b"later")
    assert response.status_code == 503 and int(response.headers["retry-after"]) >= 1
    sent = await customer.ok({"type": "message", "text": "still here"})  # the live path does not need it
    assert not any(is_attachment(f) for f in customer.frames if f.get("seq", 0) < sent["seq"])


async def test_the_widget_may_upload_from_the_host_sites_origin(sb):
    """A bearer token, never a cookie: the preflight lets any page send one, and the answers are readable."""
    _customer, welcome, _agent, _token, cid = await served(sb)
    async with httpx.AsyncClient(base_url=sb.node.base) as page:
        preflight = await page.options(
            f"/api/v1/conversations/{cid}/attachments",
            headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
        )
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    assert preflight.headers["access-control-allow-headers"] == "authorization"
    refused = await upload(sb, cid, welcome["visitor_token"], "a.exe", b"MZ\x90\x00" + bytes(64))
    assert refused.status_code == 415 and refused.headers["access-control-allow-origin"] == "*"


async def test_attachment_frames_decode_strictly_and_a_redaction_takes_the_file_too(sb):
    customer, welcome, agent, token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "dot.png", png())).json()
    message = await agent.wait(is_attachment)
    again, _ = await sb.agent_socket(token, protocol="msgpack", resume={cid: message["seq"] - 1})
    replayed = await again.wait(is_attachment)
    for frame in (message, replayed):
        msgspec.convert(frame, f.AgentFrame)  # strictly: an unknown field fails
    msgspec.convert(await customer.wait(is_attachment), f.CustomerFrame)
    await sb.admin("DELETE", f"/api/v1/conversations/{cid}/messages/{message['seq']}", expect=204)
    await customer.expect("message.redacted", seq=message["seq"])
    read = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    [redacted] = [m for m in read["messages"] if m["seq"] == message["seq"]]
    assert "attachment" not in redacted and "text" not in redacted
    assert (await fetch(sb, sent["url"])).status_code == 404
    assert (await fetch(sb, sent["thumbnail_url"])).status_code == 404


async def test_a_chat_moved_after_its_urls_expired_reaches_the_next_agent_with_fresh_ones(make_deployment):
    sb = await make_deployment(attachment_url_ttl_s=3)  # long enough to fetch a fresh URL under load
    await sb.queue("support")
    _customer, welcome, alice, _token, cid = await served(sb)
    sent = (await upload(sb, cid, welcome["visitor_token"], "dot.png", png())).json()

    async def expired() -> bool:
        return (await fetch(sb, sent["url"])).status_code == 403

    await eventually(expired, timeout=10)
    bob = await sb.available_agent("bob")
    await alice.ok({"type": "transfer", "conversation_id": cid, "agent": "bob"})
    offer = await bob.expect("offer", conversation_id=cid)
    [offered] = [m for m in offer["thread"] if m.get("kind") == "attachment"]
    assert (await fetch(sb, offered["attachment"]["thumbnail_url"])).status_code == 200
    await bob.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await bob.expect("conversation.assigned", conversation_id=cid)
    [kept] = [m for m in assigned["messages"] if m.get("kind") == "attachment"]
    assert (await fetch(sb, kept["attachment"]["url"])).status_code == 200
