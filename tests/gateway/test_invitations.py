"""Invitations and password resets over real HTTP and a real SMTP server (aiosmtpd on a
free loopback port): the email arrives with its link, the link sets the password once,
an expired link is refused, only admins send them, and without a reachable mail server
the admin gets the link to pass on (never a 5xx)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from mail_server import SMTP_USER, Inbox, inbox  # noqa: F401 (the fixture)
from test_accounts import PASSWORD, Browser, create_user

from conftest import free_port
from support import eventually

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(http://\S+)/password#token=(\S+)")


@pytest.fixture
async def mailing(make_deployment: Any, inbox: Inbox) -> Any:
    deployment = await make_deployment(smtp_url=inbox.url, smtp_from="Switchboard <chat@example.com>")
    await deployment.queue("support")
    return deployment


def link_in(message: EmailMessage) -> tuple[str, str]:
    body = message.get_body(("plain",))
    assert body is not None
    found = LINK.search(body.get_content())
    assert found, body.get_content()
    return found[1], found[2]


async def set_password(sb: Any, token: str, password: str = NEW_PASSWORD, http: httpx.AsyncClient | None = None) -> Any:
    client = http or httpx.AsyncClient(base_url=sb.node.base, timeout=10)
    try:
        return await client.post(
            "/api/v1/auth/password", json={"token": token, "password": password}, headers={"Origin": sb.node.base}
        )
    finally:
        if http is None:
            await client.aclose()


async def test_an_invitation_arrives_by_email_and_its_link_works_once(mailing, inbox):
    sb = mailing
    user = await create_user(sb, "alice@example.com", "agent", queues=["support"])
    assert not user["has_password"]
    sent = await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    assert sent["emailed"] is True and sent["problem"] is None and sent["email"] == "alice@example.com"
    assert inbox.logins == [SMTP_USER]
    message = inbox.messages[-1]
    assert message["To"] == "Alice <alice@example.com>" and inbox.recipients[-1] == ["alice@example.com"]
    assert message["From"] == "Switchboard <chat@example.com>"
    assert message["Subject"] == "You are invited to Switchboard" and message["Message-ID"] and message["Date"]
    assert not message.is_multipart() and message.get_content_type() == "text/plain"
    base, token = link_in(message)
    assert base == sb.node.base and sent["link"] == f"{base}/password#token={token}"
    text = message.get_content()
    assert text.startswith("Hello Alice,") and f"sign in at {base}/login with your email" in text

    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as browser:
        answer = await set_password(sb, token, http=browser)
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"]["id"] == user["id"] and answer.json()["user"]["has_password"]
        me = await browser.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["email"] == "alice@example.com"
    again = await set_password(sb, token, "another passphrase")
    assert again.status_code == 401 and again.json()["error"]["code"] == "unauthorized"
    async with Browser(sb) as desk:
        await desk.sign_in("alice@example.com", NEW_PASSWORD)
        await desk.sign_in("alice@example.com", "another passphrase", expect=401)

    trail = await sb.admin("GET", "/api/v1/audit?limit=200")
    actions = {entry["action"]: entry for entry in trail["entries"]}
    assert actions["users.invitation.create"]["target"] == user["id"]
    assert actions["users.invitation.create"]["actor"] == "admin-token"
    assert actions["users.password.set"]["actor"] == f"user:{user['id']}"
    assert token not in str(trail), "the audit trail never keeps a link's token"


async def test_a_password_reset_ends_the_old_password_and_its_sessions(mailing, inbox):
    sb = mailing
    user = await create_user(sb, "bob@example.com", "supervisor", queues=["support"], password=PASSWORD)
    async with Browser(sb) as old_session:
        await old_session.sign_in("bob@example.com")
        sent = await sb.admin("POST", f"/api/v1/users/{user['id']}/password-reset")
        assert sent["emailed"] and inbox.messages[-1]["Subject"] == "Choose a new Switchboard password"
        _, token = link_in(inbox.messages[-1])
        assert (await old_session.http.get("/api/v1/me")).status_code == 200, "the old password works until then"
        assert (await set_password(sb, token)).status_code == 200
        assert (await old_session.http.get("/api/v1/me")).status_code == 401
    async with Browser(sb) as desk:
        await desk.sign_in("bob@example.com", PASSWORD, expect=401)
        await desk.sign_in("bob@example.com", NEW_PASSWORD)


async def test_a_link_used_ends_the_users_other_links(mailing, inbox):
    sb = mailing
    bob = await create_user(sb, "bob@example.com", "agent")
    ann = await create_user(sb, "ann@example.com", "agent")
    tokens = []
    for user in (bob, bob, ann):
        await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
        tokens.append(link_in(inbox.messages[-1])[1])
    earlier, latest, anns = tokens
    assert (await set_password(sb, latest)).status_code == 200
    assert (await set_password(sb, earlier)).status_code == 401, "the earlier invitation died with the used one"
    assert (await set_password(sb, anns)).status_code == 200, "another user's link is not touched"
    assert not await sb.node.services.redis.keys("*password:link*"), "nothing is left behind"


async def test_an_expired_link_is_refused(make_deployment, inbox):
    sb = await make_deployment(smtp_url=inbox.url, password_link_ttl_s=1)
    user = await create_user(sb, "carol@example.com", "agent")
    await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    _, token = link_in(inbox.messages[-1])
    redis = sb.node.services.redis

    async def expired() -> bool:
        return not await redis.keys("*password:link*")

    await eventually(expired, timeout=5)
    assert (await set_password(sb, token)).status_code == 401


async def test_only_admins_send_links(mailing, inbox):
    sb = mailing
    target = await create_user(sb, "dan@example.com", "agent")
    await create_user(sb, "sue@example.com", "supervisor", queues=["support"], password=PASSWORD)
    await create_user(sb, "ann@example.com", "agent", password=PASSWORD)
    read_key = (await sb.admin("POST", "/api/v1/api-keys", {"name": "reader", "scope": "read"}, 201))["key"]
    for path in (f"/api/v1/users/{target['id']}/invitation", f"/api/v1/users/{target['id']}/password-reset"):
        for email_address in ("sue@example.com", "ann@example.com"):
            async with Browser(sb) as browser:
                await browser.sign_in(email_address)
                assert (await browser.change("POST", path)).status_code == 403
        async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as anonymous:
            assert (await anonymous.post(path)).status_code == 401
            refused = await anonymous.post(path, headers={"Authorization": f"Bearer {read_key}"})
            assert refused.status_code == 403
    assert inbox.messages == []


async def test_without_a_reachable_mail_server_the_admin_gets_the_link(make_deployment, inbox):
    nowhere = free_port()  # nothing listens there
    sb = await make_deployment(smtp_url=f"smtp://127.0.0.1:{nowhere}", smtp_timeout_s=2)
    user = await create_user(sb, "erin@example.com", "agent")
    sent = await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    assert sent["emailed"] is False and f"127.0.0.1:{nowhere}" in sent["problem"]
    assert (await set_password(sb, sent["link"].split("#token=")[1])).status_code == 200

    # TLS asked of a server that speaks plain SMTP: the handshake fails, and that is said too.
    tls = await make_deployment(smtp_url=f"smtps://127.0.0.1:{inbox.port}", smtp_timeout_s=2)
    user = await create_user(tls, "eli@example.com", "agent")
    sent = await tls.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    assert sent["emailed"] is False and f"127.0.0.1:{inbox.port}" in sent["problem"]
    assert inbox.messages == []

    unset = await make_deployment(public_url="https://chat.example.com")
    user = await create_user(unset, "fay@example.com", "agent")
    sent = await unset.admin("POST", f"/api/v1/users/{user['id']}/password-reset")
    assert sent["emailed"] is False and "SWITCHBOARD_SMTP_URL" in sent["problem"]
    assert sent["link"].startswith("https://chat.example.com/password#token=")


async def test_bad_requests_are_refused_and_leave_the_link_usable(mailing, inbox):
    sb = mailing
    user = await create_user(sb, "gil@example.com", "agent")
    await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    _, token = link_in(inbox.messages[-1])
    assert (await set_password(sb, token, "too short")).status_code == 400
    async with httpx.AsyncClient(base_url=sb.node.base, timeout=10) as http:
        for body in (b"", b"[]", b'{"token": "x"}', b'{"token": 1, "password": "long enough here"}'):
            assert (await http.post("/api/v1/auth/password", content=body)).status_code == 400, body
        foreign = await http.post(
            "/api/v1/auth/password",
            json={"token": token, "password": NEW_PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
    for wrong in ("not-a-token", "x" * 64):
        assert (await set_password(sb, wrong)).status_code == 401
    await sb.admin("POST", "/api/v1/users/missing/invitation", expect=404)
    await sb.admin("POST", "/api/v1/users/not%20an%20id/invitation", expect=400)
    # A user disabled since its link was sent cannot use it; nor get a new one.
    await sb.admin("PATCH", f"/api/v1/users/{user['id']}", {"disabled": True})
    assert (await set_password(sb, token)).status_code == 401
    await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation", expect=409)
    await sb.admin("PATCH", f"/api/v1/users/{user['id']}", {"disabled": False})
    sent = await sb.admin("POST", f"/api/v1/users/{user['id']}/invitation")
    assert (await set_password(sb, sent["link"].split("#token=")[1])).status_code == 200
