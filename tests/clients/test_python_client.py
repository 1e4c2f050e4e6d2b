"""The Python client package (clients/python) against real nodes: a whole chat in both encodings, a
refusal as a typed error, a frame of an unknown type, and reconnect with resume after the server closes
the socket or the node is killed."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from conftest import Deployment
from processes import processes  # noqa: F401 (a fixture)
from support import eventually
from switchboard_client import (
    AgentClient,
    AgentWelcome,
    Backoff,
    ChatConnected,
    ChatEnded,
    ChatQueued,
    ClosedByServer,
    ConversationAssigned,
    ConversationClosed,
    CustomerClient,
    CustomerWelcome,
    ErrorCode,
    Event,
    Message,
    NotConnected,
    Offer,
    SwitchboardError,
    Typing,
    UnknownEvent,
)

C = TypeVar("C", CustomerClient, AgentClient)
Opened = Callable[[C], Awaitable[C]]

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ROOT = ROOT / "clients" / "python"
#: A child process imports this checkout's client.
CLIENT_ENV = {**os.environ, "PYTHONPATH": str(CLIENT_ROOT / "src")}
#: Reconnect soon in tests, but not at once: the events of the test land while the socket is away.
SOON = Backoff(first_s=0.2, most_s=0.5)


@pytest.fixture
async def opened() -> AsyncIterator[Callable[[Any], Awaitable[Any]]]:
    """Connects a client; every client it connected is closed at the end of the test."""
    clients: list[CustomerClient | AgentClient] = []

    async def open_(client: C) -> C:
        await client.connect()
        clients.append(client)
        return client

    yield open_
    for client in clients:
        await client.close()


async def connected_chat(
    sb: Deployment, opened: Opened[Any], customer_url: str | None = None, **options: Any
) -> tuple[CustomerClient, AgentClient, str]:
    """Alice, available, took the chat a customer started: the two clients and the conversation id."""
    agent: AgentClient = await opened(AgentClient(sb.node.agent_url, await sb.agent("alice"), **options))
    await agent.set_state("available")
    customer: CustomerClient = await opened(CustomerClient(customer_url or sb.node.customer_url, **options))
    started = await customer.start_chat("support", "My order is late")
    offer = await agent.wait_for(Offer)
    await agent.accept(offer.offer_id)
    await agent.wait_for(ConversationAssigned)
    await customer.wait_for(ChatConnected)
    assert started.conversation_id is not None
    return customer, agent, started.conversation_id


def from_an_agent(message: Message) -> bool:
    return message.sender.role == "agent"


async def messages_until(client: CustomerClient | AgentClient, text: str) -> list[Message]:
    """The messages the client delivers, up to the one with this text; every history event on the way
    must be new (a double would repeat a seq) and come in seq order."""
    seen: list[Message] = []
    seqs: list[int] = []
    async for event in client.events():
        seq = getattr(event, "seq", None)
        if isinstance(seq, int) and not isinstance(event, UnknownEvent):
            assert not seqs or seq > seqs[-1], f"seq {seq} after {seqs}: a double or out of order"
            seqs.append(seq)
        if isinstance(event, Message):
            seen.append(event)
            if event.text == text:
                return seen
    raise AssertionError(f"the events ended before {text!r}; got {seen}")


@pytest.mark.parametrize("encoding", ["json", "msgpack"])
async def test_a_customer_and_an_agent_chat_from_start_to_wrap_up(sb, opened, encoding):
    token = await sb.agent("alice")
    agent = await opened(AgentClient(sb.node.agent_url, token, encoding=encoding))
    assert agent.subprotocol == f"switchboard.v1.{encoding}"
    assert isinstance(agent.welcome, AgentWelcome) and agent.welcome.agent.id == "alice"
    assert (await agent.set_state("available")).state == "available"

    customer = await opened(CustomerClient(sb.node.customer_url, encoding=encoding))
    assert customer.subprotocol == f"switchboard.v1.{encoding}"
    assert isinstance(customer.welcome, CustomerWelcome) and customer.visitor_token
    started = await customer.start_chat("support", "My order is late", customer={"name": "Bob"})
    assert (await customer.wait_for(ChatQueued)).position == 1

    offer = await agent.wait_for(Offer)
    assert offer.conversation_id == started.conversation_id and offer.customer.name == "Bob"
    assert [m.text for m in offer.thread] == ["My order is late"]
    accepted = await agent.accept(offer.offer_id)
    cid = accepted.conversation_id
    assert cid == started.conversation_id
    assigned = await agent.wait_for(ConversationAssigned)
    assert assigned.card.status == "active" and assigned.card.agents[0].display_name == "Alice"
    assert (await customer.wait_for(ChatConnected)).agent.id == "alice"

    reply = await agent.send_message(cid, "Let me check")
    got = await customer.wait_for(Message, lambda m: m.seq == reply.seq)
    assert (got.text, got.sender.role, got.sender.display_name) == ("Let me check", "agent", "Alice")

    await customer.typing(True, preview="Tha")
    typing = await agent.wait_for(Typing)
    assert typing.active and typing.preview == "Tha" and typing.sender is not None
    assert typing.sender.role == "customer"
    await agent.typing(cid)
    assert (await customer.wait_for(Typing)).active

    sent = await customer.send_message("Thanks")
    got = await agent.wait_for(Message, lambda m: m.seq == sent.seq)
    assert got.text == "Thanks" and got.sender.role == "customer" and got.client_msg_id

    await agent.end_session(cid)
    assert (await customer.wait_for(ChatEnded)).reason == "agent_ended"
    await agent.wait_for(ChatEnded, lambda e: e.conversation_id == cid)
    await agent.wrap_up(cid, "resolved")
    closed = await agent.wait_for(ConversationClosed)
    assert closed.wrap_up.code == "resolved" and closed.wrap_up.label == "Resolved"


async def test_a_refused_command_raises_its_error_code_and_message_and_the_socket_stays(sb, opened):
    customer = await opened(CustomerClient(sb.node.customer_url))
    with pytest.raises(SwitchboardError) as refused:
        await customer.send_message("anyone there?")
    assert (refused.value.code, refused.value.message) == (ErrorCode.CONFLICT, "start a chat first")

    await customer.start_chat("support")
    with pytest.raises(SwitchboardError) as refused:
        await customer.send_message("x" * 4001)
    assert refused.value.code == ErrorCode.TOO_LONG

    agent = await opened(AgentClient(sb.node.agent_url, await sb.agent("alice")))
    with pytest.raises(SwitchboardError) as refused:
        await agent.accept("o1-" + "0" * 40)
    assert refused.value.code == ErrorCode.NOT_FOUND
    assert (await agent.set_state("available")).state == "available"

    with pytest.raises(ClosedByServer) as closed:
        await AgentClient(sb.node.agent_url, "not-a-token").connect()
    assert closed.value.code == 4401


async def test_a_frame_of_a_type_the_client_does_not_know_arrives_as_unknown_and_the_rest_follows(sb, opened):
    customer = await opened(CustomerClient(sb.node.customer_url))
    cid = (await customer.start_chat("support", "hello")).conversation_id
    # What a newer server might send: a type this client does not know, and a known type of another shape.
    services = sb.node.services
    channel = services.router.keys.channel(f"v:{customer.visitor_id}")
    await services.redis.publish(channel, json.dumps({"type": "chat.reaction", "conversation_id": cid, "emoji": "+1"}))
    await services.redis.publish(
        channel, json.dumps({"type": "chat.position", "conversation_id": cid, "position": "1st"})
    )
    await customer.send_message("still here")

    unknown: list[Event] = []
    async for event in customer.events():
        if isinstance(event, UnknownEvent):
            unknown.append(event)
        if isinstance(event, Message) and event.text == "still here":
            break
    assert [(e.name, e.data.get("emoji")) for e in unknown if isinstance(e, UnknownEvent)] == [
        ("chat.reaction", "+1"),
        ("chat.position", None),
    ]


async def test_sockets_the_server_closes_resume_with_every_event_once_and_in_order(sb, opened):
    customer, agent, cid = await connected_chat(sb, opened, reconnect=SOON)
    await agent.send_message(cid, "before the drop")
    await customer.send_message("me too")
    await messages_until(customer, "me too")
    await messages_until(agent, "me too")

    for socket in list(sb.node.services.local.sockets):
        socket.go_away("the test moves everyone")  # 1001, as a node does when it shuts down
    # Commands sent meanwhile wait for the socket; the resume replays what was sent before its hello.
    for n in range(3):
        await agent.send_message(cid, f"while away {n}")
    await customer.send_message("and from me")

    expected = ["while away 0", "while away 1", "while away 2", "and from me"]
    assert [m.text for m in await messages_until(customer, "and from me")] == expected
    assert [m.text for m in await messages_until(agent, "and from me")] == expected
    assert (customer.reconnects, agent.reconnects) == (1, 1)


async def test_an_offer_made_while_the_agent_was_away_arrives_once(sb, opened):
    agent = await opened(AgentClient(sb.node.agent_url, await sb.agent("alice"), reconnect=Backoff(first_s=0.5)))
    await agent.set_state("available")
    for socket in list(sb.node.services.local.sockets):
        socket.go_away("the test moves the agent")
    customer = await opened(CustomerClient(sb.node.customer_url))
    cid = (await customer.start_chat("support", "anyone?")).conversation_id

    offers: list[Offer] = []
    async for event in agent.events():
        if isinstance(event, Offer):
            offers.append(event)
            await agent.accept(event.offer_id)
            await agent.send_message(event.conversation_id, "here")
        if isinstance(event, Message) and event.text == "here":
            break
    assert [o.conversation_id for o in offers] == [cid]
    assert agent.reconnects == 1


async def test_a_returning_visitor_resumes_from_what_it_was_sent_not_from_the_start(sb, opened):
    first, agent, cid = await connected_chat(sb, opened, reconnect=SOON)
    for n in range(3):
        await agent.send_message(cid, f"earlier {n}")
    await messages_until(first, "earlier 2")
    await first.close()

    again = await opened(CustomerClient(sb.node.customer_url, visitor_token=first.visitor_token, reconnect=SOON))
    assert again.welcome is not None and again.welcome.conversation is not None
    assert again.welcome.conversation.conversation_id == cid
    await agent.send_message(cid, "now")
    await messages_until(again, "now")
    for socket in list(sb.node.services.local.sockets):
        socket.go_away("the test moves everyone")
    await agent.send_message(cid, "while away")
    assert [m.text for m in await messages_until(again, "while away")] == ["while away"]


async def test_a_revoked_token_ends_the_client_for_good_with_the_reason(sb, opened):
    agent = await opened(AgentClient(sb.node.agent_url, await sb.agent("alice"), reconnect=SOON))
    await sb.admin("DELETE", "/api/v1/agents/alice/token", expect=None)
    with pytest.raises(ClosedByServer) as ended:
        async for _ in agent.events():
            pass
    assert (ended.value.code, ended.value.reason) == (4401, "token revoked")
    with pytest.raises(ClosedByServer):
        await agent.set_state("available")
    assert agent.reconnects == 0


async def test_with_its_node_gone_for_good_a_client_fails_clearly(make_deployment, opened):
    sb = await make_deployment()
    waiting = await opened(CustomerClient(sb.node.customer_url, reconnect=SOON, timeout=1.0))
    giving_up = await opened(CustomerClient(sb.node.customer_url, reconnect=Backoff(first_s=0.05, attempts=3)))
    not_reconnecting = await opened(CustomerClient(sb.node.customer_url, reconnect=None))
    await sb.node.stop()  # closes every socket with 1001; nothing listens afterwards

    with pytest.raises(NotConnected, match="no socket"):
        await waiting.start_chat("support")  # waited for a socket as long as the client's timeout
    with pytest.raises(NotConnected, match="gave up reconnecting"):
        async for _ in giving_up.events():
            pass
    with pytest.raises(NotConnected, match="reconnecting is off"):
        async for _ in not_reconnecting.events():
            pass
    with pytest.raises(NotConnected):
        await not_reconnecting.send_message("hello?")


@pytest.mark.slow
async def test_a_customer_whose_node_is_killed_resumes_on_its_return_with_what_was_sent_meanwhile(
    sb, opened, processes, redis_url
):
    node = processes(redis_url=redis_url)
    await node.start()
    customer, agent, cid = await connected_chat(sb, opened, customer_url=node.customer_url, reconnect=SOON)
    await agent.send_message(cid, "before the kill")
    await messages_until(customer, "before the kill")

    node.kill()  # kill -9: no close frame; the client retries while nothing listens
    for n in range(3):
        await agent.send_message(cid, f"while dead {n}")
    await node.start()  # the same port

    assert [m.text for m in await messages_until(customer, "while dead 2")] == [f"while dead {n}" for n in range(3)]
    assert customer.reconnects == 1
    assert customer.welcome is not None and customer.welcome.recovered is True
    await customer.send_message("back")
    assert [m.text for m in await messages_until(agent, "back")][-1] == "back"


async def test_the_echo_bot_example_answers_a_customer_and_wraps_the_chat_up(sb, opened):
    token = await sb.agent("echo")
    bot = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CLIENT_ROOT / "examples" / "echo_bot.py"),
        token,
        "--url",
        f"ws://127.0.0.1:{sb.node.port}",
        env=CLIENT_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        customer = await opened(CustomerClient(sb.node.customer_url))
        cid = (await customer.start_chat("support", "hello")).conversation_id
        greeting = await customer.wait_for(Message, from_an_agent, timeout=20)  # the bot starts meanwhile
        assert greeting.text and "echo bot" in greeting.text
        await customer.send_message("ping")
        assert (await customer.wait_for(Message, from_an_agent)).text == "You wrote: ping"
        await customer.end_chat()

        async def wrapped_up() -> bool:
            card = (await sb.admin("GET", f"/api/v1/conversations/{cid}"))["card"]
            return card.get("wrap_up", {}).get("code") == "resolved"

        await eventually(wrapped_up)
    finally:
        bot.terminate()
        _, errors = await bot.communicate()
    assert b"Traceback" not in errors, errors.decode()


def readme_try_it() -> tuple[str, str]:
    """The script and its output as README.md's "Try it" shows them."""
    section = (ROOT / "README.md").read_text().split("\n## Try it\n", 1)[1]
    script = section.split("```python\n", 1)[1].split("```\n", 1)[0]
    output = section.split("Output:\n\n```\n", 1)[1].split("```\n", 1)[0]
    return script, output


async def test_the_readme_try_it_script_prints_what_the_readme_shows(sb, tmp_path):
    script, output = readme_try_it()
    path = tmp_path / "try_it.py"
    path.write_text(script.replace("ws://127.0.0.1:8000", f"ws://127.0.0.1:{sb.node.port}"))
    run = await asyncio.create_subprocess_exec(
        sys.executable, str(path), await sb.agent("demo-agent"), env=CLIENT_ENV, stdout=PIPE, stderr=PIPE
    )
    printed, errors = await asyncio.wait_for(run.communicate(), 60)
    assert run.returncode == 0, errors.decode()
    assert printed.decode() == output
