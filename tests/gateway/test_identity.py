"""The host site's signed identity of its customer (a JWT in `hello`), the customer's
earlier conversations, and an accepted invitation in the widget's language."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support import Client

OLD_SECRET = "the-site-s-old-identity-secret-0123456789"
SECRET = "the-site-s-identity-secret-" + "0123456789abcdef" * 3  # 64 bytes: long enough for HS512 too


def identity(key: Any = SECRET, algorithm: str = "HS256", expires_in_s: float = 600, **claims: Any) -> str:
    payload = {"sub": "crm-42", "name": "Dana Example", "email": "dana@example.com", "exp": time.time() + expires_in_s}
    return jwt.encode({**payload, **claims}, key, algorithm=algorithm)


@pytest.fixture
async def site(make_deployment):
    """A deployment whose host site signs identities with SECRET (OLD_SECRET still verifies)."""
    deployment = await make_deployment(identity_secret=(SECRET, OLD_SECRET))
    await deployment.queue("support")
    return deployment


def hs256_by_hand(payload: dict[str, Any], key: str) -> str:
    """An HS256 token with any key: PyJWT itself refuses to sign with a public key's PEM."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + part(json.dumps(payload).encode())
    return signed + "." + part(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())


async def refused(deployment, **hello: Any) -> tuple[int | None, str]:
    client = await Client.connect(deployment.node.customer_url)
    deployment.clients.append(client)
    await client.send({"type": "hello", **hello})
    return await client.closed()


async def test_a_signed_identity_names_and_verifies_the_customer_for_the_agent(site):
    alice = await site.available_agent("alice")
    customer, welcome = await site.customer(identity=identity(phone="+49 30 1234"))
    started = await customer.ok(
        {
            "type": "start_chat",
            "queue": "support",
            "text": "Hello",
            # what the customer types cannot override what the site vouches for
            "customer": {"name": "Someone Else", "email": "other@example.com"},
            "attributes": {"topic": "billing", "order": "A-1001"},
        }
    )
    offer = await alice.expect("offer", conversation_id=started["conversation_id"])
    assert offer["customer"] == {
        "external_id": "crm-42",
        "name": "Dana Example",
        "email": "dana@example.com",
        "phone": "+49 30 1234",
        "verified": True,
    }
    assert offer["attributes"] == {"topic": "billing", "order": "A-1001"}
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    card = (await alice.expect("conversation.assigned"))["card"]
    assert card["customer"]["verified"] is True and card["customer"]["external_id"] == "crm-42"
    assert card["attributes"] == {"topic": "billing", "order": "A-1001"}
    assert card["visitor_id"] == welcome["visitor_id"]
    (first_message,) = [event for event in offer["thread"] if event["type"] == "message"]
    assert first_message["text"] == "Hello" and first_message["from"]["display_name"] == "Dana Example"
    detail = await site.admin("GET", f"/api/v1/conversations/{started['conversation_id']}")
    assert detail["card"]["customer"]["external_id"] == "crm-42" and detail["card"]["attributes"]["order"] == "A-1001"


async def test_without_an_identity_the_customer_claims_nothing(site):
    alice = await site.available_agent("alice")
    customer, _ = await site.customer()
    started = await customer.ok(
        {"type": "start_chat", "queue": "support", "customer": {"name": "Dana", "external_id": "crm-42"}}
    )
    offer = await alice.expect("offer", conversation_id=started["conversation_id"])
    assert offer["customer"] == {"name": "Dana", "verified": False}
    assert not offer.get("attributes")


@pytest.mark.parametrize(
    "token, reason",
    [
        (identity(key="a-forger-s-secret-0123456789abcdefgh"), "identity not verified"),
        (identity(expires_in_s=-120), "identity expired"),
        (identity(sub=""), "identity"),
        (jwt.encode({"sub": "crm-42"}, SECRET, algorithm="HS256"), "identity not verified"),  # no exp
        ("not.a.jwt", "identity is not a JWT"),
        (identity(algorithm="HS512"), "identity not verified"),
        (jwt.encode({"sub": "crm-42", "exp": time.time() + 600}, None, algorithm="none"), "identity not verified"),
    ],
    ids=["forged", "expired", "empty sub", "no exp", "garbage", "other algorithm", "unsigned"],
)
async def test_a_forged_or_expired_identity_closes_the_socket_4401(site, token, reason):
    code, said = await refused(site, identity=token)
    assert code == 4401 and said.startswith(reason), (code, said)


async def test_a_deployment_without_identity_keys_refuses_identities(sb):
    assert await refused(sb, identity=identity()) == (4401, "identity tokens are not configured on this deployment")


async def test_the_old_key_still_verifies_while_keys_rotate(site):
    _, welcome = await site.customer(identity=identity(key=OLD_SECRET))
    assert welcome["visitor_id"].startswith("vi_")


async def test_rs256_identities_verify_with_the_sites_public_key(make_deployment, tmp_path):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    key_file = tmp_path / "site.pem"
    key_file.write_text(pem)
    deployment = await make_deployment(identity_public_key=(str(key_file),))
    _, welcome = await deployment.customer(identity=identity(key=private, algorithm="RS256"))
    assert welcome["visitor_id"].startswith("vi_")
    # an HS256 token signed with the public key's text (the classic confusion attack) is refused
    assert (await refused(deployment, identity=hs256_by_hand({"sub": "crm-42", "exp": time.time() + 600}, pem)))[
        0
    ] == 4401


async def test_the_identified_customer_is_the_same_visitor_on_every_device_and_a_signed_out_browser_is_not(site):
    alice = await site.available_agent("alice")
    laptop, first = await site.customer(identity=identity())
    started = await laptop.ok({"type": "start_chat", "queue": "support", "text": "From the laptop"})
    offer = await alice.expect("offer", conversation_id=started["conversation_id"])
    await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await laptop.expect("chat.connected")

    _phone, second = await site.customer(identity=identity())  # no visitor token: another device
    assert second["visitor_id"] == first["visitor_id"]
    assert second["conversation"]["conversation_id"] == started["conversation_id"]

    # The customer signs out on the site; the browser still holds the visitor token.
    _stranger, third = await site.customer(visitor_token=first["visitor_token"])
    assert third["visitor_id"] != first["visitor_id"] and third["conversation"] is None
    # ... and another customer signing in on that browser is someone else too.
    _other, fourth = await site.customer(visitor_token=first["visitor_token"], identity=identity(sub="crm-77"))
    assert fourth["visitor_id"] not in (first["visitor_id"], third["visitor_id"]) and fourth["conversation"] is None


async def test_earlier_conversations_by_visitor_and_by_external_id(site):
    alice = await site.available_agent("alice")
    bob = await site.available_agent("bob", capacity=1)
    await bob.ok({"type": "set_state", "state": "not_ready"})

    async def served_chat(client: Client, text: str) -> str:
        started = await client.ok({"type": "start_chat", "queue": "support", "text": text})
        cid = started["conversation_id"]
        offer = await alice.expect("offer", conversation_id=cid)
        await alice.ok({"type": "accept", "offer_id": offer["offer_id"]})
        await client.expect("chat.connected")
        return cid

    dana, welcome = await site.customer(identity=identity())
    first = await served_chat(dana, "My parcel is late")
    await alice.ok({"type": "end_session", "conversation_id": first})
    await dana.ok({"type": "csat", "rating": 5})
    other, _ = await site.customer(identity=identity(sub="crm-77", name="Other"))
    await served_chat(other, "Someone else")
    await site.archive_caught_up()

    by_visitor = await site.admin("GET", f"/api/v1/conversations?visitor={welcome['visitor_id']}")
    assert [c["conversation_id"] for c in by_visitor["conversations"]] == [first]
    by_external = await site.admin("GET", "/api/v1/conversations?external_id=crm-42")
    assert [c["conversation_id"] for c in by_external["conversations"]] == [first]
    assert by_external["conversations"][0]["csat"] == {"rating": 5}
    nobody = await site.admin("GET", "/api/v1/conversations?external_id=crm-404")
    assert nobody["conversations"] == []

    # An agent who served the customer sees the customer's conversations; one who did not, none.
    alice_token = await site.agent("alice")
    bob_token = await site.agent("bob", capacity=1)
    path = "/api/v1/conversations?external_id=crm-42"
    seen = await site.http.get(path, headers={"Authorization": f"Bearer {alice_token}"})
    assert [c["conversation_id"] for c in seen.json()["conversations"]] == [first]
    unseen = await site.http.get(path, headers={"Authorization": f"Bearer {bob_token}"})
    assert unseen.status_code == 200 and unseen.json()["conversations"] == []

    # The customer comes back and bob (who never served it) takes the new chat: bob may open
    # the earlier conversation as the customer's context; alice may not open the other's.
    await alice.ok({"type": "set_state", "state": "not_ready"})
    bob_socket, _ = await site.agent_socket(bob_token)
    await bob_socket.ok({"type": "set_state", "state": "available"})
    second = (await dana.ok({"type": "start_chat", "queue": "support", "text": "Me again"}))["conversation_id"]
    assert second != first
    offer = await bob_socket.expect("offer", conversation_id=second)
    await bob_socket.ok({"type": "accept", "offer_id": offer["offer_id"]})
    await site.archive_caught_up()
    other_id = (await site.admin("GET", "/api/v1/conversations?external_id=crm-77"))["conversations"][0]
    as_bob = {"Authorization": f"Bearer {bob_token}"}
    assert (await site.http.get(f"/api/v1/conversations/{first}", headers=as_bob)).status_code == 200
    refused_other = await site.http.get(f"/api/v1/conversations/{other_id['conversation_id']}", headers=as_bob)
    assert refused_other.status_code == 403 and "Other" not in refused_other.text
    unknown = await site.http.get("/api/v1/conversations/c_nothing", headers=as_bob)
    assert unknown.status_code == 403

    too_long = await site.http.get("/api/v1/conversations", params={"external_id": "x" * 129})
    assert too_long.status_code == 400
    bad_visitor = await site.http.get("/api/v1/conversations", params={"visitor": "no spaces"})
    assert bad_visitor.status_code == 400


async def test_an_accepted_invitation_asks_for_the_widgets_language(sb):
    await sb.queue("vertrieb", languages=["de"])
    anna = await sb.available_agent("anna", queues=["vertrieb"], languages=["de"])
    for hello_language, accept_language in (("de", None), ("en", "de")):
        customer, welcome = await sb.customer(language=hello_language)
        await sb.admin(
            "POST",
            f"/api/v1/visitors/{welcome['visitor_id']}/invite",
            {"queue": "vertrieb", "text": "Hallo!"},
            expect=201,
        )
        invite = await customer.expect("invite")
        accept = {"type": "accept_invite", "invite_id": invite["invite_id"]}
        accepted = await customer.ok({**accept, "language": accept_language} if accept_language else accept)
        offer = await anna.expect("offer", conversation_id=accepted["conversation_id"])
        assert offer["language"] == "de"
        await anna.ok({"type": "decline", "offer_id": offer["offer_id"]})
        await customer.ok({"type": "end_chat"})
    # Without a language the chat asks for English, which this queue does not serve.
    customer, welcome = await sb.customer()
    await sb.admin(
        "POST", f"/api/v1/visitors/{welcome['visitor_id']}/invite", {"queue": "vertrieb", "text": "Hallo!"}, expect=201
    )
    invite = await customer.expect("invite")
    answer = await customer.request({"type": "accept_invite", "invite_id": invite["invite_id"]})
    assert answer["type"] == "error" and "language en" in answer["message"]


async def test_a_vip_by_the_sites_word_goes_first_within_the_queues_maximum(site):
    await site.queue("support", max_chat_priority=50)
    alice = await site.available_agent("alice")
    await alice.ok({"type": "set_state", "state": "not_ready"})
    regular, _ = await site.customer()
    first = await regular.ok({"type": "start_chat", "queue": "support", "text": "I was here first"})
    vip, _ = await site.customer(identity=identity(sub="crm-vip", priority=90))  # capped at the queue's 50
    second = await vip.ok({"type": "start_chat", "queue": "support", "text": "Gold customer"})
    await alice.ok({"type": "set_state", "state": "available"})
    offer = await alice.expect("offer")
    assert offer["conversation_id"] == second["conversation_id"] != first["conversation_id"]
    # a customer's own start_chat still may not ask for more than the queue allows
    greedy, _ = await site.customer()
    refused = await greedy.request({"type": "start_chat", "queue": "support", "priority": 90})
    assert refused["code"] == "bad_request"
