"""One typed, frozen settings object, read once from flags and the environment."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _number(env: Mapping[str, str], name: str, what: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be {what}, not {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float, zero_turns_off: bool = False) -> float:
    value = _number(env, name, "a number of seconds")
    if value is None:
        return default
    if value < 0 or (value == 0 and not zero_turns_off):
        raise SystemExit(f"{name} must be greater than 0" + (" (or 0: off)" if zero_turns_off else ""))
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int | None = None) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}")
    return value


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, "a number from 0 to 1")
    if value is None:
        return default
    if not 0 <= value <= 1:
        raise SystemExit(f"{name} must be a number from 0 to 1")
    return value


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    redis_cluster_nodes: tuple[str, ...] | None = None  # Redis Cluster: "host:port" of one or more of its nodes
    # Redis Sentinel: "host:port" of each sentinel, and the name of the master they watch
    redis_sentinels: tuple[str, ...] | None = None
    redis_master_name: str | None = None
    data_dir: Path = Path("./var")
    admin_token: str | None = None
    secret: str | None = None
    inactivity_timeout_s: float = 900.0
    disconnect_grace_s: float = 60.0
    allowed_origins: tuple[str, ...] | None = None
    hello_timeout_s: float = 10.0
    max_frame_bytes: int = 64 * 1024
    timer_tick_s: float = 0.25
    node_ttl_s: float = 10.0
    stats_interval_s: float = 5.0
    key_prefix: str = "sb"
    agent_token_ttl_s: float = 24 * 3600.0
    web_session_idle_s: float = 1800.0
    send_queue_limit: int = 1024
    max_bad_frames: int = 20
    event_stream_keepalive_s: float = 15.0
    event_stream_clients: int = 100
    widget_dir: Path | None = None  # the browser files; None: found beside the source or in ./widget
    webhook_timeout_s: float = 5.0  # one delivery attempt, connecting and answering included
    webhook_retry_base_s: float = 1.0  # first retry after this; each later one waits twice as long
    webhook_retry_max_s: float = 3600.0  # longest wait between two attempts
    webhook_retry_jitter: float = 0.2  # each wait is shortened by a random part of up to this fraction
    webhook_max_attempts: int = 8  # then the delivery is a dead letter
    webhook_claim_idle_s: float = 30.0  # work of a silent node is taken over after this (plus the timeout)
    shutdown_drain_s: float = 10.0  # on SIGTERM, the longest wait for sockets and requests to finish
    # Python's garbage collector (collector.py): freeze what is alive this often (0: never) ...
    gc_freeze_interval_s: float = 1.0
    gc_full_interval_s: float = 600.0  # ... and collect everything once per this
    # Limits against hostile clients (gateway/limits.py; docs/operations.md lists them).
    frames_per_s: float = 20.0  # each socket's token bucket refills at this rate ...
    frame_burst: int = 100  # ... and holds at most this many frames
    rate_limit_strikes: int = 50  # frames refused with rate_limited before the socket is closed with 1008
    sockets_per_ip: int = 200  # open sockets from one client address on this node; 0: no limit
    http_requests_per_s: float = 50.0  # HTTP API requests per client address per node ... (0: no limit)
    http_burst: int = 500  # ... in bursts of up to this many
    handshakes_per_ip_per_min: int = 300  # handshakes from one address per minute, all nodes; 0: no limit
    customer_text_limit: int = 4000  # characters of a customer message
    agent_text_limit: int = 1000  # characters of an agent message
    note_text_limit: int = 4000  # characters of an internal note
    trusted_proxies: str = "127.0.0.1"  # whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips)
    node_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        origins = env.get("SWITCHBOARD_ALLOWED_ORIGINS")
        cluster_nodes = env.get("SWITCHBOARD_REDIS_CLUSTER_NODES")
        sentinels = env.get("SWITCHBOARD_REDIS_SENTINELS")
        values: dict[str, Any] = {
            "host": env.get("SWITCHBOARD_HOST") or "127.0.0.1",
            "port": _int(env, "SWITCHBOARD_PORT", 8000, minimum=0),
            "redis_url": env.get("SWITCHBOARD_REDIS_URL") or None,
            "redis_cluster_nodes": tuple(n.strip() for n in cluster_nodes.split(",") if n.strip()) or None
            if cluster_nodes else None,
            "redis_sentinels": tuple(a.strip() for a in sentinels.split(",") if a.strip()) if sentinels else None,
            "redis_master_name": env.get("SWITCHBOARD_REDIS_MASTER_NAME") or None,
            "data_dir": Path(env.get("SWITCHBOARD_DATA_DIR") or "./var"),
            "admin_token": env.get("SWITCHBOARD_ADMIN_TOKEN") or None,
            "secret": env.get("SWITCHBOARD_SECRET") or None,
            "inactivity_timeout_s": _float(env, "SWITCHBOARD_INACTIVITY_TIMEOUT_S", 900.0),
            "disconnect_grace_s": _float(env, "SWITCHBOARD_DISCONNECT_GRACE_S", 60.0),
            "allowed_origins": tuple(o.strip() for o in origins.split(",") if o.strip()) if origins else None,
            "hello_timeout_s": _float(env, "SWITCHBOARD_HELLO_TIMEOUT_S", 10.0),
            "max_frame_bytes": _int(env, "SWITCHBOARD_MAX_FRAME_BYTES", 64 * 1024),
            "timer_tick_s": _float(env, "SWITCHBOARD_TIMER_TICK_S", 0.25),
            "node_ttl_s": _float(env, "SWITCHBOARD_NODE_TTL_S", 10.0),
            "stats_interval_s": _float(env, "SWITCHBOARD_STATS_INTERVAL_S", 5.0),
            "key_prefix": env.get("SWITCHBOARD_KEY_PREFIX") or "sb",
            "agent_token_ttl_s": _float(env, "SWITCHBOARD_AGENT_TOKEN_TTL_S", 24 * 3600.0),
            "event_stream_keepalive_s": _float(env, "SWITCHBOARD_EVENT_STREAM_KEEPALIVE_S", 15.0),
            "event_stream_clients": _int(env, "SWITCHBOARD_EVENT_STREAM_CLIENTS", 100),
            "widget_dir": Path(env["SWITCHBOARD_WIDGET_DIR"]) if env.get("SWITCHBOARD_WIDGET_DIR") else None,
            "web_session_idle_s": _float(env, "SWITCHBOARD_WEB_SESSION_IDLE_S", 1800.0),
            "webhook_timeout_s": _float(env, "SWITCHBOARD_WEBHOOK_TIMEOUT_S", 5.0),
            "webhook_retry_base_s": _float(env, "SWITCHBOARD_WEBHOOK_RETRY_BASE_S", 1.0),
            "webhook_retry_max_s": _float(env, "SWITCHBOARD_WEBHOOK_RETRY_MAX_S", 3600.0),
            "webhook_retry_jitter": _fraction(env, "SWITCHBOARD_WEBHOOK_RETRY_JITTER", 0.2),
            "webhook_max_attempts": _int(env, "SWITCHBOARD_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1),
            "webhook_claim_idle_s": _float(env, "SWITCHBOARD_WEBHOOK_CLAIM_IDLE_S", 30.0),
            "shutdown_drain_s": _float(env, "SWITCHBOARD_SHUTDOWN_DRAIN_S", 10.0),
            "gc_freeze_interval_s": _float(env, "SWITCHBOARD_GC_FREEZE_INTERVAL_S", 1.0, zero_turns_off=True),
            "gc_full_interval_s": _float(env, "SWITCHBOARD_GC_FULL_INTERVAL_S", 600.0),
            "frames_per_s": _float(env, "SWITCHBOARD_FRAMES_PER_S", 20.0),
            "frame_burst": _int(env, "SWITCHBOARD_FRAME_BURST", 100, minimum=1),
            "rate_limit_strikes": _int(env, "SWITCHBOARD_RATE_LIMIT_STRIKES", 50, minimum=1),
            "sockets_per_ip": _int(env, "SWITCHBOARD_SOCKETS_PER_IP", 200, minimum=0),
            "http_requests_per_s": _float(env, "SWITCHBOARD_HTTP_REQUESTS_PER_S", 50.0, zero_turns_off=True),
            "http_burst": _int(env, "SWITCHBOARD_HTTP_BURST", 500, minimum=1),
            "handshakes_per_ip_per_min": _int(env, "SWITCHBOARD_HANDSHAKES_PER_IP_PER_MIN", 300, minimum=0),
            "customer_text_limit": _int(env, "SWITCHBOARD_CUSTOMER_TEXT_LIMIT", 4000, minimum=1),
            "agent_text_limit": _int(env, "SWITCHBOARD_AGENT_TEXT_LIMIT", 1000, minimum=1),
            "note_text_limit": _int(env, "SWITCHBOARD_NOTE_TEXT_LIMIT", 4000, minimum=1),
            "trusted_proxies": env.get("SWITCHBOARD_TRUSTED_PROXIES") or "127.0.0.1",
            "max_bad_frames": _int(env, "SWITCHBOARD_MAX_BAD_FRAMES", 20, minimum=0),
            "send_queue_limit": _int(env, "SWITCHBOARD_SEND_QUEUE_LIMIT", 1024, minimum=16),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.sentinel_addresses()  # refuses a malformed list at startup
        return settings

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.redis_sentinels)

    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The sentinels as (host, port); SystemExit on a malformed entry."""
        if not self.redis_sentinels:
            return []
        if not self.redis_master_name:
            raise SystemExit("SWITCHBOARD_REDIS_SENTINELS needs SWITCHBOARD_REDIS_MASTER_NAME")
        addresses = []
        for entry in self.redis_sentinels:
            host, _, port = entry.rpartition(":")
            if not host or not port.isdigit():
                raise SystemExit(f"SWITCHBOARD_REDIS_SENTINELS: {entry!r} is not host:port")
            addresses.append((host.strip("[]"), int(port)))
        return addresses

    def with_secrets(self) -> Settings:
        """Fills in the secret (kept in the data dir, mode 600) and the admin token
        (generated for this run) when they are not configured."""
        updates: dict[str, Any] = {}
        if not self.secret:
            updates["secret"] = load_or_create_secret(self.data_dir)
        if not self.admin_token:
            updates["admin_token"] = secrets.token_urlsafe(24)
        return replace(self, **updates) if updates else self


def load_or_create_secret(data_dir: Path) -> str:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = data_dir / "secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value
