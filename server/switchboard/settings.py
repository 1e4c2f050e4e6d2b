"""One typed, frozen settings object, read once from flags and the environment."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from .domain.accounts import UserRole, parse_role_map

ENV_PREFIX = "SWITCHBOARD_"


@dataclass(frozen=True)
class Spec:
    """How one setting is read and documented; the field's type and default say the rest."""

    meaning: str
    minimum: int | None = None  # integers: the smallest allowed value
    zero_turns_off: bool = False  # durations: 0 is allowed and turns the feature off
    fraction: bool = False  # a number from 0 to 1
    flag: str | None = None  # the command-line flag that wins over the variable
    shown_default: str | None = None  # the default as the reference table shows it, when the value would mislead
    from_env: bool = True  # False: set by the program itself, not configurable


def setting(default: Any, meaning: str, **spec: Any) -> Any:
    """A field of `Settings`: its default and how it is read from the environment."""
    return field(default=default, metadata={"spec": Spec(meaning, **spec)})


@dataclass(frozen=True)
class Settings:
    host: str = setting("127.0.0.1", "address to listen on (the image sets `0.0.0.0`)", flag="--host")
    port: int = setting(8000, "port to listen on", minimum=0, flag="--port")
    redis_url: str | None = setting(
        None, "the Redis to use; unset: an embedded one in the data dir", flag="--redis-url"
    )
    redis_cluster_nodes: tuple[str, ...] | None = setting(
        None,
        "Redis Cluster instead: comma-separated `host:port` of some of its nodes (see [Redis modes](#redis-modes))",
    )
    redis_sentinels: tuple[str, ...] | None = setting(
        None, "comma-separated `host:port` of Redis Sentinels; replaces the URL (see [Redis Sentinel](#redis-sentinel))"
    )
    redis_master_name: str | None = setting(None, "the master the sentinels watch (required with sentinels)")
    database_url: str | None = setting(
        None,
        "the PostgreSQL (14 or later) that keeps every conversation, any URL asyncpg accepts; unset with no Redis "
        "given: an embedded one in the data dir (see [PostgreSQL](#postgresql)). Nodes that share a Redis share it",
        flag="--database-url",
    )
    database_pool_size: int = setting(10, "connections each node keeps to PostgreSQL", minimum=2)
    archive_interval_s: float = setting(
        0.5, "how often each node looks for conversations and events to copy to PostgreSQL"
    )
    archive_lease_s: float = setting(
        30.0, "a node that took archive work and went silent this long: another node does it"
    )
    archive_batch: int = setting(
        100, "conversations (and 10 times as many events) one archiving step copies", minimum=1
    )
    live_retention_s: float = setting(
        3600.0,
        "a finished conversation (and an idle visitor) stays in Redis this long, then lives in PostgreSQL only",
    )
    retention_days: float = setting(
        0.0,
        "conversations that ended longer ago are deleted everywhere; 0 keeps them forever (fractions allowed); "
        "a queue's `retention_days` wins",
        zero_turns_off=True,
    )
    retention_sweep_s: float = setting(3600.0, "how often a node deletes what retention no longer keeps")
    data_dir: Path = setting(
        Path("./var"),
        "the secret file, the embedded Redis and the embedded PostgreSQL",
        flag="--data-dir",
        shown_default="`./var`",
    )
    log_level: str = setting("info", "`debug`, `info`, `warning`, `error`", flag="--log-level")
    admin_token: str | None = setting(
        None, "bearer token of the HTTP API; the same on every node", shown_default="generated per start"
    )
    secret: str | None = setting(
        None,
        "signs visitor and agent tokens; the same on every node",
        shown_default="generated once, kept in `DATA_DIR/secret` (mode 600)",
    )
    identity_secret: tuple[str, ...] | None = setting(
        None,
        "HS256 keys with which the host site signs its customers' identity tokens (`identity` in `hello`); "
        "comma-separated, any one verifies, so a key can be rotated",
    )
    identity_public_key: tuple[str, ...] | None = setting(
        None,
        "RS256 public keys (PEM text, or the path of a PEM file) that verify the identity tokens; "
        "comma-separated like the secrets",
    )
    key_prefix: str = setting("sb", "prefix of every Redis key and channel (several deployments on one Redis)")
    allowed_origins: tuple[str, ...] | None = setting(
        None,
        "comma-separated `Origin` values allowed to open sockets (see [Security and limits](#security-and-limits))",
        shown_default="unset: any",
    )
    trusted_proxies: str = setting(
        "127.0.0.1",
        "proxies whose `X-Forwarded-For` names the client (comma-separated, or `*`; uvicorn's `forwarded_allow_ips`)",
    )
    inactivity_timeout_s: float = setting(900.0, "a connected session where nobody wrote for this long ends")
    disconnect_grace_s: float = setting(60.0, "how long a customer or agent may be away before it counts as gone")
    agent_token_ttl_s: float = setting(
        24 * 3600.0, "lifetime of agent tokens; an open socket closes (4401) when its token expires"
    )
    hello_timeout_s: float = setting(10.0, "time a new socket has to send `hello` (else 4401)")
    public_url: str | None = setting(
        None,
        "the deployment's address as browsers reach it (`https://chat.example.com`): changes made with a "
        "session cookie must come from this `Origin`; unset: the request's own scheme and `Host`",
    )
    session_ttl_s: float = setting(
        12 * 3600.0, "a sign-in session not used for this long ends; each use renews it (a shift)"
    )
    session_max_s: float = setting(7 * 86400.0, "... and none lasts longer than this after signing in")
    socket_token_ttl_s: float = setting(
        3600.0,
        "lifetime of the agent tokens `POST /api/v1/auth/socket-token` gives a signed-in desk; the desk's "
        "socket takes a fresh one when it reconnects",
    )
    attachment_url_ttl_s: float = setting(
        3600.0,
        "lifetime of the signed URLs of attachments; each read of a conversation and each resume signs fresh ones",
    )
    login_free_failures: int = setting(
        5,
        "failed sign-ins to one account within the window before each further try must wait (1 s, 2 s, 4 s... "
        "up to the lockout); a success clears them",
        minimum=1,
    )
    login_lockout_s: float = setting(300.0, "the longest such wait")
    login_window_s: float = setting(900.0, "failed sign-ins are forgotten this long after the first of them")
    login_failures_per_address: int = setting(
        50, "failed sign-ins from one client address within the window; then it waits for the window's end", minimum=1
    )
    oidc_issuer: str | None = setting(
        None,
        "single sign-on: the OpenID Connect provider's issuer URL (its `/.well-known/openid-configuration` is read); "
        "unset: no single sign-on (see [Single sign-on](#single-sign-on))",
    )
    oidc_client_id: str | None = setting(None, "... the client id Switchboard has at the provider")
    oidc_client_secret: str | None = setting(None, "... and its secret")
    oidc_groups_claim: str = setting("groups", "... the ID token's claim that lists the user's groups")
    oidc_role_map: str | None = setting(
        None,
        "... which group gives which role, `group=role,...` (the highest role wins); unset: the groups named "
        "`admin`, `supervisor` and `agent`. A group `queue:<id>` gives that queue",
    )
    oidc_name: str = setting("single sign-on", "... the provider's name on the sign-in page's button")
    oidc_check_s: float = setting(
        300.0,
        "... a session signed in through the provider is renewed at the provider (a refresh) at most this often: "
        "a user disabled there is signed out here, its sockets closed, at the first renewal after",
    )
    smtp_url: str | None = setting(
        None,
        "the mail server invitations and password resets go out through: `smtp://user:password@host:port` "
        "(STARTTLS when the server offers it) or `smtps://...` (TLS from the start); unset: the admin console "
        "shows the link to pass on instead (see [Inviting users](#inviting-users))",
    )
    smtp_from: str | None = setting(
        None,
        "the sender of those emails (`Switchboard <chat@example.com>`)",
        shown_default="`no-reply@` the host of the link",
    )
    smtp_timeout_s: float = setting(10.0, "the longest an email may take to hand to the mail server")
    password_link_ttl_s: float = setting(
        72 * 3600.0, "an invitation's or password reset's link works once, for this long"
    )
    password_hash_memory_kib: int = setting(
        64 * 1024,
        "memory each password hash (Argon2id) takes, in KiB; with the passes below, raising it makes each "
        "user's hash stronger at its next sign-in",
        minimum=32,
    )
    password_hash_passes: int = setting(3, "... and the passes it makes over that memory", minimum=1)
    max_frame_bytes: int = setting(64 * 1024, "largest frame (else 1009)")
    frames_per_s: float = setting(20.0, "refill rate of each socket's frame bucket")
    frame_burst: int = setting(100, "size of that bucket", minimum=1)
    bot_frames_per_s: float = setting(
        500.0, "refill rate of a bot socket's frame bucket (a bot answers many chats on one socket; burst 5 s of it)"
    )
    rate_limit_strikes: int = setting(
        50, "frames refused with `rate_limited` before the socket is closed with 1008", minimum=1
    )
    max_bad_frames: int = setting(20, "undecodable frames in a row before 1008", minimum=0)
    send_queue_limit: int = setting(1024, "frames waiting for a client that does not read, before 1008", minimum=16)
    sockets_per_ip: int = setting(200, "open sockets per client address on one node (0: no limit)", minimum=0)
    handshakes_per_ip_per_min: int = setting(
        300, "handshakes per client address per minute, all nodes (0: no limit)", minimum=0
    )
    http_requests_per_s: float = setting(
        50.0,
        "HTTP API (`/api/...`) requests per client address per second on one node; more answer 429 "
        "`rate_limited` with `Retry-After` (0: no limit). A contact centre whose agents share one public "
        "address needs it above their total",
        zero_turns_off=True,
    )
    http_burst: int = setting(500, "... in bursts of up to this many", minimum=1)
    customer_text_limit: int = setting(4000, "characters of a customer message", minimum=1)
    agent_text_limit: int = setting(1000, "characters of an agent message", minimum=1)
    note_text_limit: int = setting(4000, "characters of an internal note", minimum=1)
    timer_tick_s: float = setting(0.25, "how often each node looks for due deadlines")
    shutdown_drain_s: float = setting(
        10.0, "on SIGTERM, the longest wait for sockets and requests to finish before the node exits"
    )
    gc_freeze_interval_s: float = setting(
        1.0,
        "every so often the node freezes the objects alive (`gc.freeze`), so Python's automatic full "
        "collections walk only younger ones; 0 turns it off ([performance.md](performance.md#garbage-collection))",
        zero_turns_off=True,
    )
    gc_full_interval_s: float = setting(
        600.0,
        "once per this the node unfreezes everything and collects it all: one long pause (about 30 ms per "
        "1,000 sockets) instead of one every few seconds",
    )
    node_ttl_s: float = setting(10.0, "a node silent this long is taken as dead; its sockets get the disconnect grace")
    stats_interval_s: float = setting(5.0, "how often supervisors get a `stats` frame")
    web_session_idle_s: float = setting(1800.0, "a page view after this long starts a new web session")
    event_stream_keepalive_s: float = setting(15.0, "keepalive of `/api/v1/events/stream`")
    event_stream_clients: int = setting(100, "event streams one node serves at once")
    widget_dir: Path | None = setting(None, "the browser files", shown_default="beside the source, else `./widget`")
    bot_absent_handoff_s: float = setting(
        60.0, "a chat waits this long for its socket bot while no bot of that name is connected, then goes to its queue"
    )
    webhook_timeout_s: float = setting(5.0, "one webhook delivery attempt, connecting and answering included")
    webhook_retry_base_s: float = setting(1.0, "first retry after this; each later one waits twice as long")
    webhook_retry_max_s: float = setting(3600.0, "longest wait between two attempts")
    webhook_retry_jitter: float = setting(
        0.2, "each wait is shortened by a random part of up to this fraction", fraction=True
    )
    webhook_max_attempts: int = setting(8, "then the delivery is a dead letter", minimum=1)
    webhook_allow_private: bool = setting(
        False,
        "`1`: webhooks may reach loopback, private and link-local addresses (receivers inside your own "
        "network, tests); by default such a URL is refused when registered and never connected to",
        shown_default="`0`",
    )
    webhook_claim_idle_s: float = setting(
        30.0, "deliveries of a silent node are taken over after this (plus the timeout)"
    )
    node_id: str = field(
        default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}",
        metadata={"spec": Spec("this node's name in Redis", from_env=False)},
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Every setting from its `SWITCHBOARD_*` variable; `overrides` (the flags) win when not None."""
        env = os.environ if env is None else env
        values = {item.name: item.read(env) for item in settings_fields() if item.spec.from_env}
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)
        settings.sentinel_addresses()  # refuses a malformed list at startup
        settings.oidc_roles()  # and a malformed role map
        return settings

    @property
    def single_sign_on(self) -> bool:
        """Whether sign-in through an OpenID Connect provider is set up."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    def oidc_roles(self) -> dict[str, UserRole]:
        """Which provider group gives which role; SystemExit on a malformed SWITCHBOARD_OIDC_ROLE_MAP."""
        try:
            return parse_role_map(self.oidc_role_map)
        except ValueError as exc:
            raise SystemExit(f"SWITCHBOARD_OIDC_ROLE_MAP: {exc}") from None

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


@dataclass(frozen=True)
class SettingField:
    """One field of `Settings` with its variable, parser and documentation."""

    name: str
    kind: Any  # the field's type
    default: Any
    spec: Spec

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def read(self, env: Mapping[str, str]) -> Any:
        raw = env.get(self.variable)
        if raw is None or raw == "":
            return self.default
        kind = self.kind
        if kind is bool:
            return self._boolean(raw)
        if kind is int:
            return self._integer(raw)
        if kind is float:
            return self._fraction(raw) if self.spec.fraction else self._seconds(raw)
        if kind in (Path, Path | None):
            return Path(raw)
        if kind == tuple[str, ...] | None:
            return tuple(part.strip() for part in raw.split(",") if part.strip()) or None
        return raw

    def _boolean(self, raw: str) -> bool:
        value = raw.strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise SystemExit(f"{self.variable} must be 1 or 0 (true or false), not {raw!r}")

    def _integer(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SystemExit(f"{self.variable} must be an integer, not {raw!r}") from None
        if self.spec.minimum is not None and value < self.spec.minimum:
            raise SystemExit(f"{self.variable} must be at least {self.spec.minimum}")
        return value

    def _number(self, raw: str, what: str) -> float:
        try:
            return float(raw)
        except ValueError:
            raise SystemExit(f"{self.variable} must be {what}, not {raw!r}") from None

    def _seconds(self, raw: str) -> float:
        value = self._number(raw, "a number of seconds")
        if value < 0 or (value == 0 and not self.spec.zero_turns_off):
            raise SystemExit(
                f"{self.variable} must be greater than 0" + (" (or 0: off)" if self.spec.zero_turns_off else "")
            )
        return value

    def _fraction(self, raw: str) -> float:
        value = self._number(raw, "a number from 0 to 1")
        if not 0 <= value <= 1:
            raise SystemExit(f"{self.variable} must be a number from 0 to 1")
        return value

    @property
    def shown_default(self) -> str:
        if self.spec.shown_default is not None:
            return self.spec.shown_default
        if self.default is None:
            return "unset"
        if isinstance(self.default, float) and self.default.is_integer():
            return f"`{int(self.default)}`"
        return f"`{self.default}`"


def settings_fields() -> list[SettingField]:
    """The fields of `Settings` in their order, typed and with their specs."""
    hints = get_type_hints(Settings)
    return [
        SettingField(
            item.name, hints[item.name], None if item.default is MISSING else item.default, item.metadata["spec"]
        )
        for item in fields(Settings)
    ]


def settings_markdown() -> str:
    """The reference table of docs/operations.md: `switchboard settings --markdown` prints it."""
    lines = ["| variable | flag | default | meaning |", "| --- | --- | --- | --- |"]
    for item in settings_fields():
        if item.spec.from_env:
            flag = f"`{item.spec.flag}`" if item.spec.flag else ""
            lines.append(f"| `{item.variable}` | {flag} | {item.shown_default} | {item.spec.meaning} |")
    return "\n".join(lines) + "\n"
