"""`GET /api/v1/openapi.json`: the HTTP API described from the structs its handlers use,
and Schemathesis holding a real node to it."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hypothesis
import pyotp
import pytest
from gateway.test_asyncapi import refs, resolve
from PIL import Image
from starlette.routing import Route

from conftest import ADMIN_TOKEN, SECRET, free_port, start_node
from switchboard.domain.attachments import UrlSigner
from switchboard.domain.errors import ErrorCode
from switchboard.embedded import EmbeddedRedis
from switchboard.gateway.http import routes as http_routes
from switchboard.gateway.http.auth import account_key
from switchboard.gateway.http.openapi import ApiRoute
from switchboard.store.password_links import LinkPurpose

# Schemathesis, requests and the OpenAPI validator are imported where they are used: every
# xdist worker collects this file and one runs it, and at collection they cost each worker
# about 0.25 s of CPU.
if TYPE_CHECKING:
    import requests


async def test_the_document_describes_every_route_of_the_api(sb):
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:  # public, like documentation
        response = await anonymous.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    from openapi_spec_validator import validate

    validate(document)  # a valid OpenAPI 3.1 document, by the maintained validator
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        (route.path, method)
        for route in http_routes
        if isinstance(route, Route)
        for method in (route.methods or {"GET"}) - {"HEAD"}
    }
    assert described == served
    assert all(isinstance(route, ApiRoute) for route in http_routes)
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert len({op["operationId"] for op in operations}) == len(operations)
    for ref in refs(document):
        resolve(document, ref)
    assert set(document["info"]["x-error-codes"]) == {code.value for code in ErrorCode}
    async with httpx.AsyncClient(base_url=sb.node.base) as anonymous:
        wrong_method = await anonymous.request("TRACE", "/api/v1/queues/support")
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["code"] == "bad_request"
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD", "PUT", "DELETE"}  # RFC 9110
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"adminToken", "apiKey", "sessionCookie", "csrfToken", "agentToken", "visitorToken"}
    assert schemes["sessionCookie"] == schemes["sessionCookie"] | {
        "type": "apiKey",
        "in": "cookie",
        "name": "sb_session",
    }
    assert schemes["csrfToken"] == schemes["csrfToken"] | {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    paths = document["paths"]
    # who may call: read from the guards; a read key reads the admin's routes, a change needs an admin key and the CSRF token
    admin_reads = [{"adminToken": []}, {"apiKey": []}, {"sessionCookie": ["admin"]}]
    assert paths["/api/v1/agents"]["get"]["security"] == admin_reads
    admin_changes = [{"adminToken": []}, {"apiKey": ["admin"]}, {"sessionCookie": ["admin"], "csrfToken": []}]
    assert paths["/api/v1/users"]["post"]["security"] == admin_changes
    assert {"agentToken": []} not in paths["/api/v1/users"]["get"]["security"]
    assert {"agentToken": []} in paths["/api/v1/canned-responses"]["get"]["security"]
    assert {"sessionCookie": ["supervisor"]} in paths["/api/v1/stats"]["get"]["security"]
    assert paths["/api/v1/auth/logout"]["post"]["security"] == [{"sessionCookie": [], "csrfToken": []}]
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert "Retry-After" in paths["/api/v1/auth/login"]["post"]["responses"]["429"]["headers"]
    assert "403" in paths["/api/v1/canned-responses/{id}"]["put"]["responses"]
    assert paths["/healthz"]["get"]["security"] == [] and "401" not in paths["/healthz"]["get"]["responses"]
    # errors answer in one shape; pagination is described
    error = paths["/api/v1/queues/{id}"]["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert resolve(document, error["$ref"])["required"] == ["error"]
    search = {p["name"]: p["schema"] for p in paths["/api/v1/conversations"]["get"]["parameters"]}
    assert search["limit"] == {"type": "integer", "minimum": 1, "maximum": 100}
    assert "next" in document["components"]["schemas"]["ConversationPage"]["properties"]
    # request bodies are the structs the handlers decode, bounds included
    queue = resolve(
        document, paths["/api/v1/queues/{id}"]["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert queue["properties"]["priority"] == {"type": "integer", "minimum": -100, "maximum": 100, "default": 0}


# ---------------------------------------------------------------- Schemathesis against a real node

#: an endless response: followed by hand in test_every_documented_status_is_reachable
NOT_FUZZED = {"stream_events"}


def checks(server_errors_too: bool = True) -> list[Any]:
    """What every answer is checked for; without `not_a_server_error` for a 5xx the document gives."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    conformance = [
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        response_headers_conformance,
    ]
    return [not_a_server_error, *conformance] if server_errors_too else conformance


#: no answer takes near this long; a request that does has failed (rather than hang the suite)
TIMEOUT_S = 30


def load(document: dict[str, Any]) -> Any:
    import schemathesis

    return schemathesis.openapi.from_dict(document)


def fuzz_operation(operation: Any, base_url: str, session: requests.Session, token: str, seen: set[int]) -> None:
    every_check = checks()

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def run(case: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=TIMEOUT_S)
        seen.add(response.status_code)
        case.validate_response(response, checks=every_check)

    run()


def fuzz(schema: Any, base_url: str, seen: dict[str, set[int]], agent: str | None = None) -> list[str]:
    """Each operation with a few generated requests, every answer checked against the
    document; what failed, one line each. With the admin token, or with `agent`'s token
    the operations an agent may call."""
    import requests
    from schemathesis.core.failures import FailureGroup

    failures: list[str] = []
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        name = operation.definition.raw["operationId"]
        if name in NOT_FUZZED or (agent and {"agentToken": []} not in operation.definition.raw["security"]):
            continue
        try:
            fuzz_operation(operation, base_url, session, agent or ADMIN_TOKEN, seen.setdefault(name, set()))
        except (Exception, FailureGroup) as exc:  # FailureGroup is a BaseExceptionGroup
            failures.append(f"{name}: {exc}")
    return failures


#: generated requests per operation; more for a longer hunt (the suite keeps to a few seconds)
EXAMPLES = int(os.environ.get("SWITCHBOARD_SCHEMATHESIS_EXAMPLES", "8"))
NOT_SET = object()


@dataclass
class Probe:
    """One request for a status that random data cannot be relied on to reach."""

    operation: str
    status: int
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    body: Any = NOT_SET
    token: str | None = ADMIN_TOKEN  # None: no Authorization header
    #: a signed-in session (with `token=None`); its CSRF token and Origin are sent only when `csrf`
    session: Session | None = None
    csrf: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


@dataclass(frozen=True)
class Session:
    """A user signed in: its session cookie and CSRF token."""

    cookie: str
    csrf: str


def probe(schema: Any, base_url: str, probes: list[Probe], seen: dict[str, set[int]]) -> list[str]:
    """Sends each probe, checks its answer against the document as the fuzzing does, and
    notes its status; what went otherwise, one line each."""
    import requests
    from schemathesis.core.failures import FailureGroup

    failures = []
    session = requests.Session()
    for p in probes:
        operation = schema.find_operation_by_id(p.operation)
        extra = {} if p.body is NOT_SET else {"body": p.body, "media_type": p.media_type}
        case = schema.make_case(operation=operation, path_parameters=p.path, query=p.query, **extra)
        headers = {"Authorization": f"Bearer {p.token}"} if p.token else {}
        if p.session and p.csrf:
            headers |= {"X-CSRF-Token": p.session.csrf, "Origin": base_url}
        cookies = {"sb_session": p.session.cookie} if p.session else {}
        session.cookies.clear()  # a sign-in's cookie is for its own probe only
        response = case.call(
            base_url=base_url, session=session, headers=headers | p.headers, cookies=cookies, timeout=TIMEOUT_S
        )
        seen.setdefault(p.operation, set()).add(response.status_code)
        if response.status_code != p.status:
            failures.append(f"{p}: got {response.status_code} {response.text[:200]}")
        # a 5xx the document gives (e.g. 503 `unavailable`) is an answer, not a server error
        try:
            case.validate_response(response, checks=checks(server_errors_too=p.status < 500))
        except (Exception, FailureGroup) as exc:
            failures.append(f"{p}: {exc}")
    return failures


def generic_probes(document: dict[str, Any], w: dict[str, Any]) -> list[Probe]:
    """For every operation: no token (401), a bad id (400) and an unknown one (404), as it documents them;
    403 for a change with an admin's session cookie but no CSRF token, and for a read of the admin's
    with an agent's session."""
    probes = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            name, documented = op["operationId"], op["responses"]
            ids = {"id": "missing", "seq": 1} if "{seq}" in path else {"id": "missing"} if "{id}" in path else {}
            body = VALID_BODIES.get(name, NOT_SET)
            # a party's route takes an agent's token, not the admin's; a signed URL its signature
            token = (
                w["ann"]
                if {"adminToken": []} not in op["security"] and {"agentToken": []} in op["security"]
                else ADMIN_TOKEN
            )
            signed = signed_query("missing", path) if path.startswith("/api/v1/attachments/") else None
            if "401" in documented:
                probes.append(Probe(name, 401, ids, body=body, token=None))
            if "{id}" in path and "400" in documented:
                probes.append(Probe(name, 400, {**ids, "id": "not an id"}, body=body, token=token))
            if "{id}" in path and "404" in documented:
                probes.append(Probe(name, 404, ids, query=signed, body=body, token=token))
            cookie = [r for r in op["security"] if "sessionCookie" in r]
            if method != "get" and cookie:
                probes.append(Probe(name, 403, ids, body=body, token=None, session=w["boss_session"]))
            elif cookie and {"sessionCookie": []} not in cookie:
                probes.append(Probe(name, 403, ids, body=body, token=None, session=w["ann_session"]))
    return probes


VALID_BODIES: dict[str, Any] = {
    "create_conversation": {"queue": "support", "transcript": [{"role": "bot", "text": "Hi"}]},
    "hand_off": {"summary": "Wants a person"},
    "end_conversation": {"reason": "resolved by the bot"},
    "post_message": {"role": "bot", "text": "How can I help?"},
    "put_queue": {"name": "Probe"},
    "put_agent": {"display_name": "Probe", "languages": ["en"], "queues": ["support"]},
    "put_canned": {"title": "Probe", "text": "Hello"},
    "put_invite_rule": {
        "queue": "support",
        "url_pattern": "https://shop.example/*",
        "seconds_on_page": 5,
        "text": "Hi",
    },
    "invite_visitor": {"queue": "support", "text": "Can I help?"},
    "create_webhook": {"url": "https://93.184.216.34/hook"},  # a public address: no DNS needed
    "put_not_ready_reasons": {"reasons": ["Break", "Lunch"]},
    "login": {"email": "nobody@example.com", "password": "not the password"},
    "sign_in_with_link": {"token": "not-a-link"},
    "set_password": {"token": "not-a-link", "password": "long enough password"},
    "create_user": {"email": "new@example.com", "name": "New", "role": "agent", "queues": ["support"]},
    "change_user": {"name": "Probe"},
    "create_key": {"name": "probe", "scope": "read"},
    "force_state": {"state": "offline"},
    "confirm_totp": {"code": "123456"},
}
#: a day a report covers
REPORT_DAY = {"from": "2026-01-01T00:00:00+01:00", "to": "2026-01-02T00:00:00+01:00", "interval": "hour"}
#: The second factor of the user `pat` enrols in `world` (its confirmation is probed with a code of it).
PAT_TOTP = pyotp.random_base32()
PASSWORD = "correct horse battery"
MULTIPART = "multipart/form-data"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (0, 128, 255)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def signed_query(attachment_id: str, path: str) -> dict[str, Any]:
    """The query of a valid signed URL of the attachment (or its thumbnail, as `path` says)."""
    variant = "thumbnail" if path.endswith("/thumbnail") else "file"
    url = UrlSigner(SECRET).url(attachment_id, variant, int(time.time()) + 600)
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def uploaded(sb: Any, cid: str, token: str, name: str, data: bytes) -> str:
    async with httpx.AsyncClient(base_url=sb.node.base, headers={"Authorization": f"Bearer {token}"}) as party:
        response = await party.post(f"/api/v1/conversations/{cid}/attachments", files={"file": (name, data)})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def world(sb: Any) -> dict[str, Any]:
    """What the probes need: queues, agents (one with an offer), visitors (one chatting), and one of each resource."""
    for qid in ("support", "other", "empty"):
        # ann's offer must outlive the whole run, however loaded the machine (a probe needs it)
        await sb.queue(qid, offer_timeout_s=3600)
    ann = await sb.agent("ann")
    sue = await sb.agent("sue", queues=["other"], role="supervisor")
    await sb.agent("gone")
    agent, _ = await sb.agent_socket(ann)
    await agent.ok({"type": "set_state", "state": "available"})
    await sb.queue("support", attachments={"max_bytes": 2000})
    chatting, welcome = await sb.customer()
    chat = await chatting.ok({"type": "start_chat", "queue": "support", "text": "Hello"})
    _, idle = await sb.customer()
    image = await uploaded(sb, chat["conversation_id"], welcome["visitor_token"], "dot.png", PNG)
    leaving, _ = await sb.customer()
    ended = await leaving.ok({"type": "start_chat", "queue": "other", "text": "Bye"})
    await leaving.ok({"type": "end_chat"})
    with_bot = [(await sb.admin("POST", "/api/v1/conversations", {"queue": "other"}, expect=201))["id"] for _ in "ab"]
    for rid in ("hi", "bye"):
        await sb.admin("PUT", f"/api/v1/canned-responses/{rid}", VALID_BODIES["put_canned"], expect=201)
    await sb.admin("PUT", "/api/v1/invite-rules/r1", VALID_BODIES["put_invite_rule"], expect=201)
    hooks = [
        (await sb.admin("POST", "/api/v1/webhooks", VALID_BODIES["create_webhook"], expect=201))["id"] for _ in "ab"
    ]
    await sb.agent("max", queues=["other"])
    for uid, role in (("boss", "admin"), ("ann", "agent"), ("lee", "agent"), ("tmp", "agent"), ("pat", "admin")):
        user = {"id": uid, "email": f"{uid}@example.com", "name": uid.title(), "role": role, "password": PASSWORD}
        await sb.admin("POST", "/api/v1/users", user, expect=201)
    boss, boss_leaving, ann_session, lee, pat = [
        await sign_in(sb, f"{uid}@example.com") for uid in ("boss", "boss", "ann", "lee", "pat")
    ]
    await sb.node.services.accounts.begin_totp("pat", PAT_TOTP)  # enrolled, to confirm
    await sb.admin("DELETE", "/api/v1/agents/lee", expect=204)  # a user without its agent profile
    await sb.node.services.login_throttle.make_wait(account_key("locked@example.com"), 600)
    keys = [(await sb.admin("POST", "/api/v1/api-keys", {"name": n, "scope": "read"}, expect=201)) for n in "ab"]
    login_link = await sb.node.services.login_links.create("boss")
    password_link = await sb.node.services.password_links.create("tmp", LinkPurpose.INVITATION, 600)
    return {
        "login_link": login_link,
        "password_link": password_link,
        "ann": ann,
        "sue": sue,
        "cid": chat["conversation_id"],
        "ended_cid": ended["conversation_id"],
        "bot_cid": with_bot[0],
        "bot_cid_to_end": with_bot[1],
        "chatting": welcome["visitor_id"],
        "visitor_token": welcome["visitor_token"],
        "idle": idle["visitor_id"],
        "idle_token": idle["visitor_token"],
        "image": image,
        "hook": hooks[0],
        "old_hook": hooks[1],
        "boss_session": boss,
        "leaving": boss_leaving,
        "ann_session": ann_session,
        "lee_session": lee,
        "pat_session": pat,
        "read_key": keys[0]["key"],
        "old_key": keys[1]["id"],
    }


async def sign_in(sb: Any, email: str) -> Session:
    async with httpx.AsyncClient(base_url=sb.node.base) as browser:
        response = await browser.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return Session(response.cookies["sb_session"], response.json()["csrf_token"])


def account_probes(w: dict[str, Any]) -> list[Probe]:
    """Sign-in, users, API keys, the audit trail and the agents' forced states, as each caller gets them."""
    sue, ann, read_key = w["sue"], w["ann"], w["read_key"]
    boss, ann_session = w["boss_session"], w["ann_session"]
    return [
        Probe("login", 200, body={"email": "boss@example.com", "password": PASSWORD}, token=None),
        Probe("login", 401, body={"email": "boss@example.com", "password": "not the password"}, token=None),
        Probe("login", 400, body={"email": "boss@example.com"}, token=None),
        Probe("login", 403, body=VALID_BODIES["login"], token=None, headers={"Origin": "https://evil.example"}),
        Probe("login", 429, body={"email": "locked@example.com", "password": PASSWORD}, token=None),
        Probe("sign_in_with_link", 200, body={"token": w["login_link"]}, token=None),
        Probe("sign_in_with_link", 401, body={"token": w["login_link"]}, token=None),  # used up by the one before
        Probe("sign_in_with_link", 400, body={"token": ""}, token=None),
        Probe("sign_in_with_link", 403, body={"token": "x"}, token=None, headers={"Origin": "https://evil.example"}),
        Probe("me", 200, token=None, session=boss),
        Probe("me", 200, token=read_key),
        Probe("socket_token", 200, token=None, session=ann_session, csrf=True),
        Probe("socket_token", 403, token=None, session=boss, csrf=True),  # an admin has no desk
        Probe("socket_token", 409, token=None, session=w["lee_session"], csrf=True),
        Probe("logout", 204, token=None, session=w["leaving"], csrf=True),
        Probe("confirm_totp", 409, body=VALID_BODIES["confirm_totp"], token=None, session=boss, csrf=True),
        Probe("confirm_totp", 400, body={"code": "x"}, token=None, session=w["pat_session"], csrf=True),
        Probe(
            "confirm_totp",
            200,
            body={"code": pyotp.TOTP(PAT_TOTP).now()},
            token=None,
            session=w["pat_session"],
            csrf=True,
        ),
        Probe("enrol_totp", 409, token=None, session=w["pat_session"], csrf=True),  # confirmed by the one before
        Probe("enrol_totp", 200, token=None, session=boss, csrf=True),
        Probe("reset_totp", 204, {"id": "pat"}),
        Probe("create_user", 201, body=VALID_BODIES["create_user"], token=None, session=boss, csrf=True),
        Probe("create_user", 400, body={**VALID_BODIES["create_user"], "queues": ["missing"]}),
        Probe("create_user", 409, body={**VALID_BODIES["create_user"], "email": "boss@example.com"}),
        Probe("create_user", 403, body=VALID_BODIES["create_user"], token=read_key),
        Probe("list_users", 200, token=read_key),
        Probe("list_users", 400, query={"limit": 0}),
        Probe("get_user", 200, {"id": "ann"}),
        Probe("set_password", 200, body={**VALID_BODIES["set_password"], "token": w["password_link"]}, token=None),
        Probe("set_password", 401, body={**VALID_BODIES["set_password"], "token": w["password_link"]}, token=None),
        Probe("set_password", 400, body={"token": "x", "password": "short"}, token=None),
        Probe(
            "set_password", 403, body=VALID_BODIES["set_password"], token=None, headers={"Origin": "https://x.example"}
        ),
        Probe("invite_user", 200, {"id": "ann"}),
        Probe("reset_password", 200, {"id": "ann"}, token=None, session=boss, csrf=True),
        Probe("change_user", 200, {"id": "tmp"}, body={"name": "Temp", "disabled": True}),
        Probe("invite_user", 409, {"id": "tmp"}),
        Probe("reset_password", 409, {"id": "tmp"}),
        Probe("change_user", 409, {"id": "tmp"}, body={"email": "boss@example.com"}),
        Probe("delete_user", 204, {"id": "tmp"}),
        Probe("create_key", 201, body=VALID_BODIES["create_key"]),
        Probe("create_key", 400, body={"name": "probe", "scope": "write"}),
        Probe("list_keys", 200, token=read_key),
        Probe("revoke_key", 204, {"id": w["old_key"]}),
        Probe("list_audit", 200, query={"action": "users.create", "from": "2020-01-01T00:00:00Z"}, token=read_key),
        Probe("list_audit", 400, query={"limit": 0}),
        Probe("force_state", 200, {"id": "max"}, body=VALID_BODIES["force_state"], token=sue),
        Probe("force_state", 400, {"id": "max"}, body={"state": "available"}),
        Probe("force_state", 403, {"id": "ann"}, body=VALID_BODIES["force_state"], token=sue),
        Probe("sign_out", 403, {"id": "max"}, token=ann),
        Probe("sign_out", 204, {"id": "max"}, token=sue),
    ]


def probes_of(w: dict[str, Any]) -> list[Probe]:
    """The statuses that need a particular state or caller, in an order that keeps each reachable."""
    ann, sue, cid, hook = w["ann"], w["sue"], w["cid"], w["hook"]
    return [
        Probe("put_agent", 200, {"id": "ann"}, body=VALID_BODIES["put_agent"]),
        Probe("put_agent", 201, {"id": "newbie"}, body=VALID_BODIES["put_agent"]),
        Probe("issue_agent_token", 200, {"id": "ann"}),
        Probe("revoke_agent_tokens", 204, {"id": "gone"}),
        Probe("delete_agent", 204, {"id": "gone"}),
        Probe("delete_agent", 409, {"id": "ann"}),  # it holds an offer
        Probe("delete_queue", 204, {"id": "empty"}),
        Probe("delete_queue", 409, {"id": "support"}),
        Probe("get_wrap_up_codes", 200, {"id": "support"}),
        Probe("get_wrap_up_codes", 403, {"id": "other"}, token=ann),
        Probe("get_conversation", 200, {"id": cid}),
        Probe("get_conversation", 403, {"id": cid}, token=sue),
        Probe("post_message", 201, {"id": cid}, body={"role": "bot", "text": "How can I help?"}),
        Probe("create_conversation", 201, body=VALID_BODIES["create_conversation"]),
        Probe("create_conversation", 404, body={"queue": "missing"}),
        Probe("create_conversation", 400, body={"queue": "support", "handoff": "yes"}),
        Probe("hand_off", 200, {"id": w["bot_cid"]}, body=VALID_BODIES["hand_off"]),
        Probe("hand_off", 409, {"id": cid}, body=VALID_BODIES["hand_off"]),
        Probe("end_conversation", 200, {"id": w["bot_cid_to_end"]}, body=VALID_BODIES["end_conversation"]),
        Probe("end_conversation", 409, {"id": w["ended_cid"]}, body=VALID_BODIES["end_conversation"]),
        Probe("post_message", 409, {"id": w["ended_cid"]}, body={"role": "system", "text": "Too late"}),
        Probe("redact_message", 204, {"id": cid, "seq": 1}),
        Probe("list_conversations", 400, query={"limit": 0}),
        # an id past what Redis and PostgreSQL hold: these were 500s
        Probe("list_events", 400, query={"after": "99999999999999999999-0"}),
        Probe("stream_events", 400, query={"after": "18446744073709551615-18446744073709551615"}),
        Probe("stream_events", 503),  # one stream is open and the node serves one
        Probe("get_stats", 200, token=sue),
        Probe("get_stats", 400, query={"window_s": 0}),
        Probe("get_stats", 403, token=ann),
        Probe("get_stats", 404, query={"queue": "missing"}),
        *(
            probe
            for report in ("queue_report", "agent_report", "interactions_report")
            for probe in (
                Probe(report, 200, query=REPORT_DAY, token=sue),
                Probe(report, 200, query=REPORT_DAY, headers={"Accept": "text/csv"}),
                Probe(report, 400, query={**REPORT_DAY, "tz": "Mars/Olympus"}),
                Probe(report, 403, query=REPORT_DAY, token=ann),
            )
        ),
        Probe("list_canned", 400, query={"q": "x" * 201}),
        Probe("put_canned", 200, {"id": "hi"}, body=VALID_BODIES["put_canned"]),
        Probe("put_canned", 201, {"id": "new"}, body=VALID_BODIES["put_canned"]),
        Probe("put_canned", 403, {"id": "hi"}, body=VALID_BODIES["put_canned"], token=ann),
        Probe("get_canned", 200, {"id": "hi"}),
        Probe("delete_canned", 403, {"id": "bye"}, token=ann),
        Probe("delete_canned", 204, {"id": "bye"}),
        Probe("put_invite_rule", 200, {"id": "r1"}, body=VALID_BODIES["put_invite_rule"]),
        Probe("put_invite_rule", 201, {"id": "r2"}, body=VALID_BODIES["put_invite_rule"]),
        Probe("get_invite_rule", 200, {"id": "r1"}),
        Probe("delete_invite_rule", 204, {"id": "r2"}),
        Probe("list_visitors", 400, query={"online": "false"}),
        Probe("get_visitor", 200, {"id": w["chatting"]}),
        Probe("export_visitor", 200, {"id": w["chatting"]}),
        Probe("invite_visitor", 201, {"id": w["idle"]}, body=VALID_BODIES["invite_visitor"]),
        Probe("invite_visitor", 403, {"id": w["idle"]}, body={"queue": "other", "text": "Hi"}, token=ann),
        Probe("invite_visitor", 409, {"id": w["chatting"]}, body=VALID_BODIES["invite_visitor"]),
        Probe("erase_visitor", 204, {"id": "nobody"}),
        Probe("create_webhook", 201, body=VALID_BODIES["create_webhook"]),
        Probe("create_webhook", 400, body={"url": "http://127.0.0.1/hook"}),  # not a public address
        Probe("create_webhook", 400, body={"url": "http://shop..example/hook"}),  # an empty label: was a 500
        Probe("get_webhook", 200, {"id": hook}),
        Probe("list_dead_letters", 200, {"id": hook}),
        Probe("list_recent_deliveries", 200, {"id": hook}),
        Probe("replay_dead_letters", 200, {"id": hook}, body={}),
        Probe("delete_webhook", 204, {"id": w["old_hook"]}),
        Probe("get_not_ready_reasons", 200, token=ann),
        Probe("put_not_ready_reasons", 200, body=VALID_BODIES["put_not_ready_reasons"]),
        Probe("put_not_ready_reasons", 400, body={"reasons": ["Break", "Break"]}),
        Probe("put_not_ready_reasons", 403, body=VALID_BODIES["put_not_ready_reasons"], token=ann),
        *attachment_probes(w),
    ]


def attachment_probes(w: dict[str, Any]) -> list[Probe]:
    """Uploads into the chat of queue `support` (files of at most 2000 bytes) and downloads by signed URL."""
    cid, visitor, image = w["cid"], w["visitor_token"], w["image"]

    def upload(status: int, data: bytes, token: str = visitor) -> Probe:
        return Probe("upload_attachment", status, {"id": cid}, body={"file": data}, token=token, media_type=MULTIPART)

    forged = {**signed_query(image, ""), "sig": "forged"}
    return [
        upload(201, b"plain text"),
        upload(413, b"a" * 3000),
        upload(415, b"MZ\x90\x00" + bytes(64)),  # a Windows program
        upload(403, b"plain text", w["idle_token"]),  # not this chat's customer
        Probe("download_attachment", 200, {"id": image}, query=signed_query(image, ""), token=None),
        Probe("download_attachment", 403, {"id": image}, query=forged, token=None),
        Probe("download_thumbnail", 200, {"id": image}, query=signed_query(image, "/thumbnail"), token=None),
        Probe("download_thumbnail", 403, {"id": image}, query=forged, token=None),
    ]


#: what a full store refuses: probed once the caps are lowered to what is there
AT_THE_CAP = [
    Probe("put_canned", 409, {"id": "one-too-many"}, body=VALID_BODIES["put_canned"]),
    Probe("put_invite_rule", 409, {"id": "one-too-many"}, body=VALID_BODIES["put_invite_rule"]),
    Probe("create_webhook", 409, body=VALID_BODIES["create_webhook"]),
]


def rate_limited(schema: Any, document: dict[str, Any], base_url: str, seen: dict[str, set[int]]) -> list[str]:
    """Every operation under /api/ on a node whose budget is spent: 429."""
    import requests

    requests.get(f"{base_url}/api/v1/openapi.json", timeout=TIMEOUT_S)  # spends the burst of one
    every = [
        Probe(
            op["operationId"], 429, {"id": "x", "seq": 1} if "{seq}" in path else {"id": "x"} if "{id}" in path else {}
        )
        for path, item in document["paths"].items()
        if path.startswith("/api/")
        for op in item.values()
    ]
    return probe(schema, base_url, every, seen)


async def not_ready(schema: Any, database_url: str, tmp_path: Any, seen: dict[str, set[int]]) -> list[str]:
    """/readyz of a node whose Redis went away: 503."""
    own = EmbeddedRedis(tmp_path / "redis", binary=shutil.which("redis-server"), port=free_port())
    own.start()
    node = await start_node(own.url, database_url)
    try:
        own.stop()
        return await asyncio.to_thread(probe, schema, node.base, [Probe("readyz", 503)], seen)
    finally:
        own.stop()
        await node.stop()


async def without_postgres(schema: Any, make_deployment: Any, seen: dict[str, set[int]]) -> list[str]:
    """An upload while the node's PostgreSQL pool is gone (closed under it): 503 with Retry-After."""
    sb = await make_deployment()
    await sb.queue("support")
    chatting, welcome = await sb.customer()
    chat = await chatting.ok({"type": "start_chat", "queue": "support", "text": "Hello"})
    sb.node.services.database.pool.terminate()
    upload = Probe(
        "upload_attachment",
        503,
        {"id": chat["conversation_id"]},
        body={"file": b"plain text"},
        token=welcome["visitor_token"],
        media_type=MULTIPART,
    )
    return await asyncio.to_thread(probe, schema, sb.node.base, [upload], seen)


# Schemathesis' own strategies draw from `random`, which Hypothesis deprecates: theirs to change, not ours.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
async def test_schemathesis_over_the_whole_api(make_deployment, database_url, tmp_path):
    """No 5xx, every answer as the document says, and every status it documents is reached."""
    sb = await make_deployment(http_requests_per_s=0, event_stream_clients=1)
    document = (await sb.http.get("/api/v1/openapi.json")).json()
    schema = load(document)
    seen: dict[str, set[int]] = {}
    w = await world(sb)
    async with sb.http.stream("GET", "/api/v1/events/stream") as stream:
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()  # kept: a dropped iterator closes the stream when collected
        assert await anext(lines) == "retry: 2000"
        seen["stream_events"] = {200}
        every = probes_of(w) + account_probes(w) + generic_probes(document, w)
        failures = await asyncio.to_thread(probe, schema, sb.node.base, every, seen)
    services = sb.node.services
    services.canned.cap = len((await sb.admin("GET", "/api/v1/canned-responses"))["canned_responses"])
    services.visitors.max_rules = len((await sb.admin("GET", "/api/v1/invite-rules"))["invite_rules"])
    services.webhooks.cap = len((await sb.admin("GET", "/api/v1/webhooks"))["webhooks"])
    failures += await asyncio.to_thread(probe, schema, sb.node.base, AT_THE_CAP, seen)
    failures += await asyncio.to_thread(fuzz, schema, sb.node.base, seen)
    failures += await asyncio.to_thread(fuzz, schema, sb.node.base, seen, w["sue"])  # a supervisor's token
    limited = await make_deployment(http_requests_per_s=0.001, http_burst=1)
    failures += await asyncio.to_thread(rate_limited, schema, document, limited.node.base, seen)
    failures += await not_ready(schema, database_url, tmp_path, seen)
    failures += await without_postgres(schema, make_deployment, seen)
    assert failures == [], "\n\n".join(failures)
    documented = {
        (op["operationId"], int(status))
        for item in document["paths"].values()
        for op in item.values()
        for status in op["responses"]
    }
    reached = {(name, status) for name, statuses in seen.items() for status in statuses}
    assert sorted(documented - reached) == []
    assert sorted(reached - documented) == []
