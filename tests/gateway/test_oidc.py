"""Single sign-on over real HTTP, through a real OpenID Connect provider (oidc-provider
under Node.js, tests/oidc_provider): the code flow with PKCE, users made on their first
sign-in with the role and queues of their groups, refusals as plain pages (no group, a
disabled user, a bad or replayed state, the provider's error), no open redirect, and a
user disabled at the provider signed out at the next renewal with its sockets closed."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from oidc_provider.provider import RunningProvider, with_provider

from support import eventually
from switchboard.gateway.http.oidc import safe_next


@pytest.fixture
def single_sign_on(make_deployment: Any, oidc_provider: RunningProvider) -> Any:
    """A factory: a deployment (settings as given) signing in through the test provider."""
    return functools.partial(with_provider, make_deployment, oidc_provider)


async def test_the_first_sign_in_makes_the_user_and_signs_it_in_with_pkce(single_sign_on):
    sso = await single_sign_on()
    async with sso.browser() as http:
        start = await sso.to_provider(http)
        url = urlsplit(start.headers["location"])
        asked = parse_qs(url.query)
        assert f"{url.scheme}://{url.netloc}" == sso.provider.issuer
        assert asked["code_challenge_method"] == ["S256"] and len(asked["code_challenge"][0]) >= 43
        assert asked["state"][0] and asked["nonce"][0] and "code_verifier" not in asked
        assert asked["response_type"] == ["code"] and "openid" in asked["scope"][0].split()
        assert asked["redirect_uri"] == [f"{sso.base}/auth/oidc/callback"]
        landed = await http.get(await sso.at_provider(http, start.headers["location"], "alice"))
        assert landed.status_code == 303 and landed.headers["location"] == "/desk"
        me = (await sso.me(http)).json()
        assert (me["kind"], me["role"], me["email"], me["name"]) == ("user", "agent", "alice@idp.example", "Alice IdP")
        # The agent of the same id, with the queue of its group, and a desk socket.
        profile = await sso.sb.admin("GET", f"/api/v1/agents/{me['id']}")
        assert profile["queues"] == ["support"] and profile["role"] == "agent"
        headers = {"X-CSRF-Token": http.cookies["sb_csrf"], "Origin": sso.base}
        token = await http.post(f"{sso.base}/api/v1/auth/socket-token", headers=headers)
        assert token.status_code == 200 and token.json()["agent_id"] == me["id"]
    user = await sso.sb.admin("GET", f"/api/v1/users/{me['id']}")
    assert user["oidc"] is True and user["has_password"] is False
    # A second sign-in is the same user.
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice")).status_code == 303
        assert (await sso.me(http)).json()["id"] == me["id"]
    assert len((await sso.sb.admin("GET", "/api/v1/users"))["users"]) == 1
    logins = (await sso.sb.admin("GET", "/api/v1/audit?action=auth.login"))["entries"]
    assert [e["target"] for e in logins] == [me["id"], me["id"]]
    assert "refresh" not in str(logins), "the provider's tokens never reach the audit trail"


async def test_a_user_made_here_before_becomes_the_providers_on_its_first_sign_in(single_sign_on):
    sso = await single_sign_on()
    body = {"email": "Alice@IdP.example", "name": "Alice", "role": "agent", "password": "correct horse battery"}
    made = await sso.sb.admin("POST", "/api/v1/users", body, 201)
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice")).status_code == 303  # the provider says the email is verified
        assert (await sso.me(http)).json()["id"] == made["id"]
    user = await sso.sb.admin("GET", f"/api/v1/users/{made['id']}")
    assert user["oidc"] is True and user["has_password"] is True and user["name"] == "Alice IdP"
    assert len((await sso.sb.admin("GET", "/api/v1/users"))["users"]) == 1


async def test_groups_give_roles_and_queues(single_sign_on):
    sso = await single_sign_on()
    async with sso.browser() as http:
        landed = await sso.sign_in(http, "sam")  # groups supervisor and agent: the higher wins
        assert landed.headers["location"] == "/supervisor"
        me = (await sso.me(http)).json()
        assert me["role"] == "supervisor" and me["queues"] == ["support"], "queue:sales is no queue here"
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "root")).headers["location"] == "/docs/api"
        assert (await sso.me(http)).json()["role"] == "admin"
    mapped = await single_sign_on(oidc_role_map="sb-admins=admin, staff = agent")
    async with mapped.browser() as http:
        assert (await mapped.sign_in(http, "mapped")).status_code == 303
        assert (await mapped.me(http)).json()["role"] == "admin"
    async with mapped.browser() as http:
        # With a role map, only its groups count: `admin` is just a name there, `staff` an agent's.
        assert (await mapped.sign_in(http, "root")).headers["location"] == "/desk"


async def test_no_group_and_disabled_users_get_a_page_that_says_so(single_sign_on):
    sso = await single_sign_on()
    async with sso.browser() as http:
        refused = await sso.sign_in(http, "nobody")
        assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
        assert "in no group that gives a role here" in refused.text and "sb_session" not in http.cookies
        assert refused.headers["content-security-policy"].startswith("default-src 'self'")
    assert (await sso.sb.admin("GET", "/api/v1/users"))["users"] == []
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice")).status_code == 303
        uid = (await sso.me(http)).json()["id"]
    await sso.sb.admin("PATCH", f"/api/v1/users/{uid}", {"disabled": True})
    async with sso.browser() as http:
        refused = await sso.sign_in(http, "alice")
        assert refused.status_code == 403 and "disabled your account" in refused.text
        assert (await sso.me(http)).status_code == 401


async def test_bad_replayed_and_refused_callbacks_get_a_clear_page(single_sign_on):
    sso = await single_sign_on()
    callback = f"{sso.base}/auth/oidc/callback"
    async with sso.browser() as http:
        for query in (
            "",
            "state=nope&code=x",
            "state=" + "x" * 5000,
            "state=%00%ff&code=%00",
            "code=abc",
            "state=a&state=b&code=1&code=2",
            "error=access_denied",
            "state=\u00e9\u00e9&code=\u00e9",
        ):
            answer = await http.get(f"{callback}?{query}")
            assert answer.status_code == 400, (query, answer.status_code)
            assert "This sign-in has expired" in answer.text
        # The provider's own refusal, of a flow that did start here.
        start = await sso.to_provider(http)
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        refused = await http.get(
            callback, params={"state": state, "error": "access_denied", "error_description": "<b>"}
        )
        assert refused.status_code == 401 and "access_denied" in refused.text and "<b>" not in refused.text
        # A state works once: the callback replayed (from the history, or by someone who saw it) is refused.
        url = await sso.at_provider(http, (await sso.to_provider(http)).headers["location"], "alice")
        assert (await http.get(url)).status_code == 303
    async with sso.browser() as other:
        replayed = await other.get(url)
        assert replayed.status_code == 400 and "sb_session" not in other.cookies
    # A callback URL of a flow begun in another browser (a link sent to sign its opener in as someone else).
    async with sso.browser() as attacker, sso.browser() as victim:
        lure = await sso.at_provider(attacker, (await sso.to_provider(attacker)).headers["location"], "alice")
        refused = await victim.get(lure)
        assert refused.status_code == 400 and "did not start in this browser" in refused.text
        assert "sb_session" not in victim.cookies
    async with sso.browser() as other:
        # A code with a state of another flow: the provider refuses it (PKCE, redirect and client bound).
        start = await sso.to_provider(other)
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(url).query)["code"][0]
        wrong = await other.get(callback, params={"state": state, "code": code})
        assert wrong.status_code == 401 and "did not confirm who you are" in wrong.text


async def test_only_paths_of_this_site_are_redirected_to(single_sign_on):
    sso = await single_sign_on()
    for hostile in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/\r\nSet-Cookie:x", "/login"):
        async with sso.browser() as http:
            landed = await sso.sign_in(http, "alice", hostile)
            assert landed.headers["location"] == "/desk", hostile
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice", "/desk?tab=2#x")).headers["location"] == "/desk?tab=2#x"
    assert safe_next("/supervisor?q=1") == "/supervisor?q=1"
    for bad in (None, "", "desk", "//x", "/\\x", "https://x/", "/a\nb", "/\u00e9", "/" + "a" * 600, "/auth/oidc/login"):
        assert safe_next(bad) is None, bad


async def test_the_sign_in_page_learns_of_the_provider(single_sign_on, sb):
    assert (await sb.admin("GET", "/api/v1/auth/providers")) == {"single_sign_on": None}
    async with httpx.AsyncClient(base_url=sb.node.base) as http:
        not_set = await http.get("/auth/oidc/login")
        assert not_set.status_code == 404 and "not set up" in not_set.text
        assert (await http.get("/auth/oidc/callback?state=x&code=y")).status_code == 404
    sso = await single_sign_on(oidc_name="Example ID")
    async with sso.browser() as http:
        answer = await http.get(f"{sso.base}/api/v1/auth/providers")  # public: the page asks before signing in
        assert answer.json() == {"single_sign_on": {"name": "Example ID", "login_url": "/auth/oidc/login"}}


async def test_a_user_disabled_at_the_provider_is_signed_out_at_the_next_renewal(single_sign_on):
    # Renewed once a second old (a quarter of its life); the provider asked at such a renewal each second.
    sso = await single_sign_on(session_ttl_s=4.0, oidc_check_s=1.0)
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice")).status_code == 303
        headers = {"X-CSRF-Token": http.cookies["sb_csrf"], "Origin": sso.base}
        token = (await http.post(f"{sso.base}/api/v1/auth/socket-token", headers=headers)).json()["token"]
        desk, _ = await sso.sb.agent_socket(token)
        # Renewals while the provider still says yes keep the session.
        database = sso.sb.node.services.database

        async def checked_at_provider() -> bool:
            assert (await sso.me(http)).status_code == 200
            async with database.pool.acquire() as connection:
                return bool(
                    await connection.fetchval(
                        "SELECT oidc_checked_at > created_at + interval '1 second' FROM user_sessions"
                    )
                )

        await eventually(checked_at_provider, timeout=10, interval=0.2)
        await sso.provider.disable("alice")

        async def signed_out() -> bool:
            return (await sso.me(http)).status_code == 401

        await eventually(signed_out, timeout=10, interval=0.2)
        assert (await desk.closed())[0] == 4401
    entries = (await sso.sb.admin("GET", "/api/v1/audit?action=auth.provider_refused"))["entries"]
    assert len(entries) == 1


async def test_an_email_another_user_has_gets_a_page_not_a_takeover(single_sign_on):
    sso = await single_sign_on()
    async with sso.browser() as http:
        assert (await sso.sign_in(http, "alice")).status_code == 303
        alice = (await sso.me(http)).json()["id"]
    await sso.sb.admin("PATCH", f"/api/v1/users/{alice}", {"email": "renamed@example.com"})
    other = await sso.sb.admin(
        "POST", "/api/v1/users", {"email": "alice@idp.example", "name": "Other", "role": "agent"}, 201
    )
    async with sso.browser() as http:
        refused = await sso.sign_in(http, "alice")
        assert refused.status_code == 409 and "Another user of Switchboard has this email" in refused.text
        assert (await sso.me(http)).status_code == 401
    assert (await sso.sb.admin("GET", f"/api/v1/users/{other['id']}"))["oidc"] is False
