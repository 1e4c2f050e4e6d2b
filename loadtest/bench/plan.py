"""What a run measures and how big: the plans, the bench's tokens and the encoders."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "bench-admin-token"
SECRET = "bench-secret"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PAD = "x" * 80  # message text is "<sent ns> " plus this: about 100 characters, a chat line

#: Every bench client comes from 127.0.0.1 and a saturating chat writes as fast as
#: it can: the limits against hostile clients (gateway/limits.py) would refuse
#: both. The bench measures capacity, so they are lifted (the per-frame check
#: itself still runs); a node keeps them in production.
CAPACITY_ENV = {
    "SWITCHBOARD_FRAMES_PER_S": "1000000",
    "SWITCHBOARD_FRAME_BURST": "1000000",
    "SWITCHBOARD_SOCKETS_PER_IP": "0",
    "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN": "0",
    "SWITCHBOARD_HTTP_REQUESTS_PER_S": "0",
}

json_encode = msgspec.json.Encoder().encode
json_decode = msgspec.json.Decoder().decode
msgpack_encode = msgspec.msgpack.Encoder().encode
msgpack_decode = msgspec.msgpack.Decoder().decode


# ---------------------------------------------------------------- sizes of a run


@dataclass(frozen=True)
class Plan:
    handshakes: int = 2000  # sockets opened for handshakes/s and kept open for RSS per idle socket
    concurrency: int = 50  # handshakes in flight
    chats: int = 200  # concurrent chats (socket pairs) for the relay figures
    paced_interval_s: float = 1.0  # each chat's customer writes once per this, for the latency figure
    paced_s: float = 8.0
    saturate_s: float = 8.0
    window: int = 2  # messages in flight per chat at saturation
    route_rate: int = 500  # chat starts per second for the routing figure
    route_s: float = 3.0
    route_agents: int = 50
    nodes: int = 3  # the scale-out figure: this many nodes against one
    warmup_s: float = 1.0
    # the archive: relay throughput with archiving on against off, in pairs of runs
    # (off, on, then on, off, ...: a drift of the shared machine cancels out)
    archive_rounds: int = 3
    finished_chats: int = 10000  # chats run to their end for Redis bytes per finished conversation
    # --growth: routing at a modest rate against agents and waiting sessions per queue,
    # and the node with this many open sockets
    growth_rate: int = 100
    growth_s: float = 2.0
    growth_agents: tuple[int, ...] = (10, 100, 1000)
    growth_waiting: tuple[int, ...] = (0, 100, 1000)
    growth_sockets: tuple[int, ...] = (100, 1000, 5000)

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            handshakes=400,
            chats=50,
            paced_s=3.0,
            saturate_s=3.0,
            route_rate=200,
            route_s=2.0,
            route_agents=20,
            warmup_s=0.5,
            growth_s=1.5,
            archive_rounds=2,
            finished_chats=500,
        )

    @classmethod
    def smoke(cls) -> Plan:
        """Every figure, each from a handful of samples: proves the harness works, measures nothing."""
        return cls(
            handshakes=30,
            concurrency=10,
            chats=4,
            paced_interval_s=0.2,
            paced_s=0.4,
            saturate_s=0.3,
            route_rate=20,
            route_s=0.3,
            route_agents=2,
            nodes=2,
            warmup_s=0.1,
            growth_rate=20,
            growth_s=0.3,
            growth_agents=(2, 5),
            growth_waiting=(0, 3),
            growth_sockets=(5, 10),
            archive_rounds=1,
            finished_chats=10,
        )
