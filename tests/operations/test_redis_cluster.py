"""Switchboard on a Redis Cluster of three masters on local ports: the core
scenarios over real sockets, and where the keys land (routing state on one
shard, conversations spread over the shards)."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync
from websockets.exceptions import ConnectionClosed

from conftest import ADMIN_TOKEN, Deployment, free_port, start_node
from support import Client, eventually


class LocalCluster:
    """Three masters (and `replicas` replicas of each) with cluster mode on, joined
    into one cluster."""

    def __init__(self, folder: Path, replicas: int = 0, node_timeout_ms: int = 15000) -> None:
        self.folder = folder
        self.replicas = replicas
        self.node_timeout_ms = node_timeout_ms
        self.ports = [free_port() for _ in range(3 * (1 + replicas))]
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(f"127.0.0.1:{port}" for port in self.ports)

    def start(self) -> None:
        # the bus port by default is port + 10000, which may be taken or beyond 65535
        self.bus_ports = [free_port() for _ in self.ports]
        self.processes = [self._launch(i) for i in range(len(self.ports))]
        for port in self.ports:
            self._wait(lambda port=port: self.client(port).ping(), "redis-server did not start")
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *self.nodes,
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        self.wait_ok()
        for port in self.ports:  # each replica has its master's data (the first sync is asynchronous)
            self._wait(lambda port=port: self._synced(port), "a replica did not sync", timeout=30)

    def _synced(self, port: int) -> bool:
        info = self.client(port).info("replication")
        return info["role"] == "master" or (
            info.get("master_link_status") == "up" and not info.get("master_sync_in_progress")
        )

    def _launch(self, i: int) -> subprocess.Popen[bytes]:
        port = self.ports[i]
        return subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(port),
                "--cluster-port",
                str(self.bus_ports[i]),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-node-timeout",
                str(self.node_timeout_ms),
                "--cluster-config-file",
                str(self.folder / f"nodes-{port}.conf"),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfilename",
                f"aof-{port}.aof",
                "--appenddirname",
                f"aof-{port}",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ok(self, ports: list[int] | None = None) -> None:
        for port in ports or self.ports:
            self._wait(
                lambda port=port: b"cluster_state:ok" in self.client(port).execute_command("CLUSTER", "INFO"),
                "the cluster is not ok",
            )

    def kill(self, port: int) -> None:
        """kill -9 of one node."""
        i = self.ports.index(port)
        self.processes[i].kill()
        self.processes[i].wait(timeout=10)

    def restart(self, port: int) -> None:
        """Stops one master (it fsyncs its AOF) and starts it again on its files."""
        i = self.ports.index(port)
        self.processes[i].terminate()
        self.processes[i].wait(timeout=10)
        self.processes[i] = self._launch(i)
        self.wait_ok()

    def owner(self, key: str) -> int:
        """The port of the master that serves `key`'s slot."""
        client = self.client(self.ports[0])
        slot = client.execute_command("CLUSTER", "KEYSLOT", key)
        for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(master[1])
        raise AssertionError(f"slot {slot} is not served")

    def move_slot(self, key: str, to_port: int) -> None:
        """Moves `key`'s slot, with its keys, to the master on `to_port`: what
        `redis-cli --cluster reshard` does for each slot, here for one."""
        from_port = self.owner(key)
        source, target = self.client(from_port), self.client(to_port)
        slot = source.execute_command("CLUSTER", "KEYSLOT", key)
        source_id = source.execute_command("CLUSTER", "MYID").decode()
        target_id = target.execute_command("CLUSTER", "MYID").decode()
        target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100):
            source.execute_command("MIGRATE", "127.0.0.1", to_port, "", 0, 5000, "KEYS", *keys)
        masters = [to_port, from_port, *(p for p in self.ports[:3] if p not in (to_port, from_port))]
        for port in masters:
            self.client(port).execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
        self._wait(lambda: self.owner(key) == to_port, "the slot did not move")

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=10)

    def client(self, port: int) -> redis_sync.Redis:
        """A plain (non-cluster) client of one node: what that shard holds itself."""
        return redis_sync.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def keys_by_node(self, pattern: str) -> dict[int, set[str]]:
        return {
            port: {k.decode() for k in self.client(port).scan_iter(match=pattern, count=1000)} for port in self.ports
        }

    def flush(self) -> None:
        for port in self.ports:
            self.client(port).flushall()

    @staticmethod
    def _wait(probe: Any, failure: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if probe():
                    return
            except redis_sync.exceptions.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(failure)
            time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"))
    try:
        local.start()
        yield local
    finally:
        local.stop()


@contextlib.asynccontextmanager
async def deployments_on(cluster: LocalCluster, database_url: str) -> AsyncIterator[Any]:
    """Makes deployments whose node uses the cluster; stops them all at the end."""
    made: list[Deployment] = []

    async def make(**overrides: Any) -> Deployment:
        node = await start_node(None, database_url, redis_cluster_nodes=cluster.nodes, **overrides)  # type: ignore[arg-type]
        http = httpx.AsyncClient(base_url=node.base, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=10)
        deployment = Deployment(node, http)
        made.append(deployment)
        return deployment

    try:
        yield make
    finally:
        for deployment in made:
            for client in deployment.clients:
                await client.close()
            await deployment.http.aclose()
            await deployment.node.stop()


@pytest.fixture
async def on_cluster(cluster: LocalCluster, database_url: str) -> AsyncIterator[Any]:
    """Makes deployments whose node uses the cluster (emptied for this test)."""
    cluster.flush()
    async with deployments_on(cluster, database_url) as make:
        yield make


async def accepted(agent: Client, customer: Client, cid: str) -> dict[str, Any]:
    offer = await agent.expect("offer", conversation_id=cid)
    await agent.ok({"type": "accept", "offer_id": offer["offer_id"]})
    assigned = await agent.expect("conversation.assigned", conversation_id=cid)
    await customer.expect("chat.connected")
    return {"offer": offer, "assigned": assigned}


async def chat_in_progress(
    sb: Deployment, desk: Deployment | None = None, text: str = "Hello", capacity: int = 1
) -> tuple[Client, Client, dict[str, Any], str, str]:
    """alice (on `desk`'s node, by default the customer's) available in "support"
    and connected to a new chat: (agent, customer, customer's welcome, alice's
    token, conversation id)."""
    await sb.queue("support")
    token = await sb.agent("alice", capacity=capacity)
    agent, _ = await (desk or sb).agent_socket(token)
    await agent.ok({"type": "set_state", "state": "available"})
    customer, welcome = await sb.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": text}))["conversation_id"]
    await accepted(agent, customer, cid)
    return agent, customer, welcome, token, cid


async def chat_goes_on(
    sb: Deployment, token: str, visitor_token: str, cid: str, text: str, timeout: float
) -> tuple[Client, Client, dict[str, Any]]:
    """After a shard went away: reconnects the customer and the agent (resuming
    from the start) as often as they are refused or told to resume, until a
    customer message reaches the agent. Returns the customer, the agent and the
    customer's welcome."""
    clients: dict[str, Client] = {}
    welcomes: list[dict[str, Any]] = []
    failures: list[str] = []

    async def delivered() -> bool:
        try:
            if len(clients) < 2 or any(client.is_closed for client in clients.values()):
                for client in clients.values():
                    await client.close()
                clients.clear()
                welcomes.clear()
                # refused (1011) while the cluster still points at a dead master
                clients["customer"], welcome = await sb.customer(
                    visitor_token=visitor_token, resume={"conversation_id": cid, "last_seq": 0}
                )
                welcomes.append(welcome)
                clients["agent"], desk = await sb.agent_socket(token, resume={cid: 0})
                welcomes.append(desk)
            ack = await clients["customer"].request({"type": "message", "text": text})
            if ack["type"] != "ack":
                failures.append(repr(ack))
                return False  # the store was away for this one
            await clients["agent"].expect("message", seq=ack["seq"], timeout=1)
        except (AssertionError, ConnectionClosed) as exc:
            failures.append(repr(exc)[:300])
            return False
        return True

    try:
        await eventually(delivered, timeout=timeout, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"the chat did not go on; the last tries: {failures[-5:]}") from exc
    return clients["customer"], clients["agent"], welcomes[0]


async def test_a_chat_goes_through_every_core_step_on_a_cluster(on_cluster):
    sb = await on_cluster()
    await sb.queue("support")
    await sb.queue("billing")
    owner = await sb.available_agent("alice")
    bob = await sb.available_agent("bob", queues=["billing"])

    customer, welcome = await sb.customer()
    started = await customer.ok({"type": "start_chat", "queue": "support", "text": "My invoice is wrong"})
    cid = started["conversation_id"]
    assert started["seq"] == 1
    await customer.expect("chat.queued")
    steps = await accepted(owner, customer, cid)
    assert [m["text"] for m in steps["offer"]["thread"]] == ["My invoice is wrong"]
    assert [m["type"] for m in steps["assigned"]["messages"]] == ["message", "chat.connected"]
    guest = await sb.available_agent("carol")

    # messages both ways, and a note the customer never sees
    ack = await owner.ok({"type": "message", "conversation_id": cid, "text": "Let me look"})
    assert (await customer.expect("message", seq=ack["seq"]))["text"] == "Let me look"
    ack = await customer.ok({"type": "message", "text": "Thanks"})
    assert (await owner.expect("message", seq=ack["seq"]))["text"] == "Thanks"
    await owner.ok({"type": "note", "conversation_id": cid, "text": "VIP"})
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    monitored = await sue.ok({"type": "monitor", "conversation_id": cid})
    assert [m.get("text") for m in monitored["messages"]][-1] == "VIP"
    ack = await customer.ok({"type": "message", "text": "Are you there?"})
    await sue.expect("message", seq=ack["seq"])
    await owner.ok({"type": "typing", "conversation_id": cid, "active": True})
    await customer.expect("typing")

    # a conference: the guest joins, hears the customer, and is removed
    await owner.ok({"type": "conference", "conversation_id": cid, "agent": "carol"})
    conference_offer = await guest.expect("offer", kind="conference")
    await guest.ok({"type": "accept", "offer_id": conference_offer["offer_id"]})
    await guest.expect("conversation.assigned", conversation_id=cid)
    await customer.expect("chat.participant_joined")
    ack = await customer.ok({"type": "message", "text": "Hello both"})
    await guest.expect("message", seq=ack["seq"])
    await owner.ok({"type": "end_conference", "conversation_id": cid})
    await customer.expect("chat.participant_left")

    # a cold transfer to another queue, whose agent gets the whole thread
    await owner.ok({"type": "transfer", "conversation_id": cid, "queue": "billing"})
    assert (await customer.expect("chat.transferred"))["queue"]["id"] == "billing"
    transfer = await accepted(bob, customer, cid)
    assert transfer["offer"]["kind"] == "transfer"
    texts = [m.get("text") for m in transfer["assigned"]["messages"] if m["type"] in ("message", "note")]
    assert texts[:4] == ["My invoice is wrong", "Let me look", "Thanks", "VIP"]
    refused = await owner.request({"type": "message", "conversation_id": cid, "text": "still here?"})
    assert refused["code"] == "forbidden"

    # the customer drops, misses messages, and resumes by seq
    await customer.close()
    missed = [await bob.ok({"type": "message", "conversation_id": cid, "text": f"missed {i}"}) for i in range(2)]
    resumed, welcome = await sb.customer(
        visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": missed[0]["seq"] - 1}
    )
    assert welcome["recovered"] is True
    await resumed.ok({"type": "page_view", "url": "https://shop.example/"})
    assert [f["seq"] for f in resumed.received("message")] == [m["seq"] for m in missed]

    # the end, and the wrap-up
    await bob.ok({"type": "end_session", "conversation_id": cid})
    assert (await resumed.expect("chat.ended"))["reason"] == "agent_ended"
    await resumed.expect("csat.requested")
    await bob.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await bob.expect("conversation.closed")

    # the reads: search, the conversation, lifecycle events, metrics
    await sb.archive_caught_up()  # search reads PostgreSQL
    found = await sb.admin("GET", "/api/v1/conversations?q=invoice")
    assert [c["conversation_id"] for c in found["conversations"]] == [cid]
    events = [e["type"] for e in (await sb.admin("GET", "/api/v1/events?limit=1000"))["events"]]
    assert {"session.queued", "session.transferred", "session.ended", "session.wrapped_up"} <= set(events)
    metrics = await sb.http.get("/metrics")
    assert metrics.status_code == 200 and "switchboard_store_up 1.0" in metrics.text
    assert (await sb.http.get("/readyz")).status_code == 200
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert detail["card"]["status_label"] == "Resolved"
    assert [n["text"] for n in detail["notes"]] == ["VIP"]
    seqs = [e["seq"] for e in await sb.node.services.router.history(cid)]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_routing_state_is_on_one_shard_and_conversations_spread(on_cluster, cluster):
    sb = await on_cluster()
    await sb.queue("support")
    agent = await sb.available_agent("alice", capacity=20)
    cids = []
    for i in range(12):
        customer, started = await sb.chat(text=f"hello {i}")
        cids.append(started["conversation_id"])
        await accepted(agent, customer, started["conversation_id"])

    # every routing key (and the outboxes) on the shard of the routing tag
    routing = cluster.keys_by_node("{sb}:*")
    holders = [port for port, keys in routing.items() if keys]
    assert len(holders) == 1
    assert {f"{{sb}}:cv:{cid}" for cid in cids} <= routing[holders[0]]
    # each conversation's message side together on its own shard, and they spread
    shards = set()
    for cid in cids:
        side = {f"sb:c:{{{cid}}}", f"sb:c:{{{cid}}}:log"}
        [port] = [port for port, keys in cluster.keys_by_node(f"sb:c:{{{cid}}}*").items() if keys]
        assert cluster.keys_by_node(f"sb:c:{{{cid}}}*")[port] == side
        shards.add(port)
    assert len(shards) >= 2


async def test_timers_run_on_a_cluster_rona_and_inactivity(on_cluster):
    sb = await on_cluster(inactivity_timeout_s=0.6)
    await sb.queue("support", offer_timeout_s=0.3)
    slow = await sb.available_agent("slow")
    customer, started = await sb.chat()
    await slow.expect("offer")
    await slow.expect("agent.state", state="rona")
    alice = await sb.available_agent("alice")
    await accepted(alice, customer, started["conversation_id"])
    ended = await customer.expect("chat.ended", timeout=5)
    assert ended["reason"] == "inactivity_timeout"


async def test_pushes_flow_again_after_the_shard_of_a_channel_restarts(on_cluster, cluster):
    sb = await on_cluster()
    agent, customer, welcome, token, cid = await chat_in_progress(sb)

    cluster.restart(cluster.owner("sb:push:{a:alice}"))
    # Pushes published while that shard was away are lost: once the hub holds
    # every channel again it tells its sockets to reconnect and resume (more
    # than once if the shard drops it again while it recovers).
    assert (await customer.closed(timeout=20))[0] == 1001
    assert (await agent.closed(timeout=20))[0] == 1001
    _, _, again = await chat_goes_on(sb, token, welcome["visitor_token"], cid, "are you there?", timeout=20)
    assert again["recovered"] is True


@pytest.mark.parametrize("agent_node", ["same node", "another node"])
async def test_no_push_is_lost_when_the_slot_of_a_channel_moves_mid_chat(on_cluster, cluster, agent_node):
    """Resharding while chats run: the slot of the agent's push channel moves to
    another master. Redis ends the node's subscription there; the next message
    to the agent is delivered live, or the agent is told to resume (1001) and
    gets it by replay. A silently dead subscription would lose it. On another
    node than the customer's, the agent's node never publishes on that channel
    itself, so no redirection of its own tells it the slot moved."""
    sb = await on_cluster()
    desk = await on_cluster() if agent_node == "another node" else sb
    agent, customer, welcome, token, cid = await chat_in_progress(sb, desk)

    channel = "sb:push:{a:alice}"
    owner = cluster.owner(channel)
    cluster.move_slot(channel, next(p for p in cluster.ports if p != owner))

    async def resumed(client: Client, reconnect: Any) -> Client:
        """The same client, or a new one if it was told to resume (1001, nothing else)."""
        if not client.is_closed:
            return client
        assert (await client.closed())[0] == 1001
        return await reconnect()

    async def new_customer() -> Client:
        return (
            await sb.customer(
                visitor_token=welcome["visitor_token"], resume={"conversation_id": cid, "last_seq": seen["customer"]}
            )
        )[0]

    async def new_agent() -> Client:
        return (await desk.agent_socket(token, resume={cid: seen["agent"]}))[0]

    seen = {"customer": 0, "agent": 0}
    for n in range(3):
        customer = await resumed(customer, new_customer)
        try:
            ack = await customer.ok({"type": "message", "text": f"after the move {n}"})
        except (AssertionError, ConnectionClosed):
            continue  # told to resume while sending: the next round reconnects it
        try:
            await agent.expect("message", seq=ack["seq"], timeout=5)
        except AssertionError:
            # Not delivered live: then the agent must have been told to resume,
            # and gets the message by replay.
            assert agent.is_closed, "a message was lost and the agent was not told"
            agent = await resumed(agent, new_agent)
            await agent.expect("message", seq=ack["seq"])
        seen["agent"] = seen["customer"] = ack["seq"]
    # pushes flow live again from the new owner
    customer = await resumed(customer, new_customer)
    agent = await resumed(agent, new_agent)
    ack = await customer.ok({"type": "message", "text": "still there?"})
    await agent.expect("message", seq=ack["seq"])


async def test_a_chat_goes_on_while_its_conversation_slot_moves(on_cluster, cluster):
    """Resharding while chats run: the slot of a conversation's keys moves, with
    its keys, to another master; the history stays whole and messages flow."""
    sb = await on_cluster()
    agent, customer, _, _, cid = await chat_in_progress(sb, text="one")
    await agent.ok({"type": "message", "conversation_id": cid, "text": "two"})

    key = f"sb:c:{{{cid}}}:meta"
    owner = cluster.owner(key)
    cluster.move_slot(key, next(p for p in cluster.ports if p != owner))
    ack = await customer.ok({"type": "message", "text": "three"})
    await agent.expect("message", seq=ack["seq"], text="three")
    await agent.ok({"type": "message", "conversation_id": cid, "text": "four"})
    await customer.expect("message", text="four")
    detail = (await sb.http.get(f"/api/v1/conversations/{cid}")).json()
    texts = [m["text"] for m in detail["messages"] if m.get("from", {}).get("role") != "system"]
    assert texts == ["one", "two", "three", "four"]


async def test_a_master_killed_mid_chat_fails_over_to_its_replica_and_the_chat_goes_on(tmp_path, database_url):
    """Three masters with a replica each. The master that holds the routing state
    is killed (-9) in the middle of a chat; its replica takes over, and the node
    goes on: the chat's messages flow again after the clients resume, nothing
    acknowledged before the kill is lost (the replicas had it), and a new chat is
    routed on the promoted replica."""
    cluster = LocalCluster(tmp_path, replicas=1, node_timeout_ms=1000)
    cluster.start()
    try:
        async with deployments_on(cluster, database_url) as make:
            sb = await make()
            agent, customer, welcome, token, cid = await chat_in_progress(sb, text="one", capacity=3)
            await agent.ok({"type": "message", "conversation_id": cid, "text": "two"})
            await customer.expect("message", text="two")
            routing_master = cluster.owner("{sb}:deadlines")
            # every write so far is on the replica (replication is asynchronous: see
            # operations.md): WAIT counts the replicas that have this connection's last
            # write, and with it everything the master wrote before
            probe = cluster.client(routing_master)
            probe.set("{sb}:failover-probe", "1")
            assert probe.execute_command("WAIT", 1, 5000) == 1

            cluster.kill(routing_master)
            cluster.wait_ok([p for p in cluster.ports if p != routing_master])

            _, agent, _ = await chat_goes_on(sb, token, welcome["visitor_token"], cid, "three", timeout=30)
            detail = (await sb.http.get(f"/api/v1/conversations/{cid}")).json()
            texts = [m["text"] for m in detail["messages"] if m.get("from", {}).get("role") != "system"]
            assert texts[:2] == ["one", "two"] and "three" in texts
            # the routing state lives on the promoted replica: a new chat is offered to alice
            newcomer, _ = await sb.customer()
            second = (await newcomer.ok({"type": "start_chat", "queue": "support", "text": "hello?"}))[
                "conversation_id"
            ]
            await agent.expect("offer", conversation_id=second, timeout=10)
            await newcomer.close()
    finally:
        cluster.stop()


async def test_on_a_cluster_finished_chats_leave_redis_read_the_same_and_a_visitor_can_be_erased(
    on_cluster, cluster, database_url
):
    sb = await on_cluster(live_retention_s=0.3)
    agent, customer, welcome, _token, cid = await chat_in_progress(sb, text="kept in PostgreSQL")
    await agent.ok({"type": "message", "conversation_id": cid, "text": "an answer"})
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    live = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    client = redis_sync.RedisCluster(host="127.0.0.1", port=cluster.ports[0])

    async def gone() -> bool:
        return not client.keys(f"*{cid}*") and not client.exists(f"sb:c:{{{cid}}}:log")

    await eventually(gone, timeout=15)
    archived = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert archived["messages"] == live["messages"] and archived["card"]["status"] == "closed"

    vid = welcome["visitor_id"]
    await sb.admin("DELETE", f"/api/v1/visitors/{vid}", expect=204)
    assert await customer.closed() == (4401, "visitor erased")
    assert (await sb.http.get(f"/api/v1/conversations/{cid}")).status_code == 404
    client.close()


async def test_on_a_cluster_an_agent_that_served_a_conversation_adds_notes_after_the_end(on_cluster):
    """`served` reaches the conversation's own shard, where the message path reads it."""
    sb = await on_cluster()
    agent, _customer, _welcome, _token, cid = await chat_in_progress(sb)
    bob = await sb.available_agent("bob")
    await agent.ok({"type": "end_session", "conversation_id": cid})
    await agent.ok({"type": "note", "conversation_id": cid, "text": "in wrap-up"})
    await agent.ok({"type": "wrap_up", "conversation_id": cid, "code": "resolved"})
    await agent.ok({"type": "note", "conversation_id": cid, "text": "after it"})
    refused = await bob.request({"type": "note", "conversation_id": cid, "text": "me too"})
    assert refused["code"] == "forbidden"
    detail = await sb.admin("GET", f"/api/v1/conversations/{cid}")
    assert [n["text"] for n in detail["notes"]] == ["in wrap-up", "after it"]


async def test_on_a_cluster_a_supervisor_barges_in_and_whispers(on_cluster):
    """`barged` reaches the conversation's own shard, where the message path reads it."""
    sb = await on_cluster()
    agent, customer, _welcome, _token, cid = await chat_in_progress(sb)
    sue, _ = await sb.agent_socket(await sb.agent("sue", role="supervisor"))
    await sue.ok({"type": "barge_in", "conversation_id": cid})
    await customer.expect("chat.participant_joined")
    await sue.ok({"type": "message", "conversation_id": cid, "text": "the team lead here"})
    await customer.expect("message", text="the team lead here")
    await sue.ok({"type": "whisper", "conversation_id": cid, "text": "psst"})
    assert (await agent.expect("note", text="psst"))["from"]["role"] == "supervisor"
    await sue.ok({"type": "leave", "conversation_id": cid})
    refused = await sue.request({"type": "message", "conversation_id": cid, "text": "gone"})
    assert refused["code"] == "forbidden"
    assert customer.received("note") == []


async def test_on_a_cluster_a_bot_on_another_node_talks_first_and_hands_off(on_cluster):
    """The bot stage's `bot` reaches the conversation's own shard, where the message path reads
    it, and the bot's channel is a sharded one like any other."""
    sb = await on_cluster()
    other = await on_cluster()
    await sb.queue("support", bot={"name": "greeter"})
    alice = await sb.available_agent("alice")
    bot = await Client.connect(other.node.bot_url)
    await bot.send({"type": "hello", "api_key": ADMIN_TOKEN, "name": "greeter"})
    await bot.expect("welcome")
    customer, _ = await sb.customer()
    cid = (await customer.ok({"type": "start_chat", "queue": "support", "text": "Hi bot"}))["conversation_id"]
    assert (await bot.expect("message", conversation_id=cid))["text"] == "Hi bot"
    await bot.ok({"type": "message", "conversation_id": cid, "text": "Hi human"})
    await customer.expect("message", text="Hi human")
    await bot.ok({"type": "handoff", "conversation_id": cid, "summary": "said hi"})
    assert (await alice.expect("offer", conversation_id=cid))["summary"] == "said hi"
    await bot.close()
