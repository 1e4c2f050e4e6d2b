"""What one gateway node runs: its clients, stores and background parts, passed to the sockets and handlers.

`build_services` makes the whole object in one step; nothing is filled in later. What changes while the
node runs (its open sockets, its open event streams) lives apart, in `NodeLocal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from ..archiver import Archiver
from ..collector import Collector
from ..record.accounts import Accounts
from ..record.archive import Archive
from ..record.audit import AuditBacklog, AuditTrail
from ..record.database import Database
from ..record.privacy import Privacy
from ..record.reads import RecordReads
from ..record.reports import Reports
from ..record.search import ConversationSearch
from ..rollups import ReportRollups
from ..settings import Settings
from ..store.canned import CannedResponses
from ..store.connection import connect
from ..store.directory import Directory
from ..store.engine import Timeouts
from ..store.figures import Figures
from ..store.keys import Keys
from ..store.login_links import LoginLinks
from ..store.oidc_flows import OidcFlows
from ..store.password_links import PasswordLinks
from ..store.router import Router
from ..store.throttle import HandshakeCounter, LoginThrottle
from ..store.transcripts import EndedSessions, TranscriptRequests
from ..store.visitors import Visitors
from ..store.webhooks import WebhookStore
from ..timers import Sweeper
from .auth import Signer
from .bot_attendance import BotAttendance
from .bot_webhook import WebhookBots
from .chats import CustomerChats
from .event_history import EventHistory
from .hub import Hub
from .identity import IdentityVerifier
from .limits import Gate
from .metrics import Metrics
from .oidc import OidcProvider
from .outbound_mail import Mailer
from .passwords import Passwords
from .privacy import PrivacyRequests
from .supervision import SupervisorFeed
from .transcripts import TranscriptMail, TranscriptsAtTheEnd
from .webhooks import WebhookDispatcher


class OpenSocket(Protocol):
    """What the node does with a client socket it holds open (gateway/socket.py)."""

    @property
    def role(self) -> str: ...

    async def register(self) -> None:
        """Records its presence in the store again."""

    def go_away(self, reason: str) -> None:
        """Closes with 1001 once the command under way is answered."""


@dataclass(slots=True)
class NodeLocal:
    """This node's own mutable state, never shared with other nodes."""

    sockets: set[OpenSocket] = field(default_factory=set)
    event_streams: int = 0  # open /api/v1/events/stream responses


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    redis: Redis
    router: Router
    directory: Directory
    hub: Hub
    signer: Signer
    identity: IdentityVerifier
    sweeper: Sweeper
    canned: CannedResponses
    search: ConversationSearch
    visitors: Visitors
    figures: Figures
    supervision: SupervisorFeed
    event_history: EventHistory
    webhooks: WebhookStore
    dispatcher: WebhookDispatcher
    gate: Gate  # admission of handshakes
    metrics: Metrics
    collector: Collector
    chats: CustomerChats
    database: Database
    record: RecordReads
    privacy: PrivacyRequests
    archiver: Archiver
    reports: Reports  # the queue and agent reports (PostgreSQL)
    rollups: ReportRollups  # keeps the reports' rollups
    local: NodeLocal
    accounts: Accounts  # users, sign-in sessions, API keys (PostgreSQL)
    passwords: Passwords  # their hashes, off the event loop
    audit_trail: AuditTrail
    audit_backlog: AuditBacklog  # what the live path audits, written behind its back
    login_throttle: LoginThrottle
    login_links: LoginLinks  # one-time sign-in links (Redis)
    oidc: OidcProvider | None  # the single sign-on provider, when set up
    oidc_flows: OidcFlows  # sign-ins through it under way (Redis)
    password_links: PasswordLinks  # invitations' and password resets' links (Redis)
    mailer: Mailer  # invitations and password resets by email
    transcripts: TranscriptMail  # a customer's transcript by email
    transcripts_at_the_end: TranscriptsAtTheEnd  # and by itself at the end where its queue says so
    bots: BotAttendance  # the socket bots of this node, and the chats of bots that are away
    bot_webhooks: WebhookBots  # the webhook bots asked about customer messages


def build_services(settings: Settings) -> Services:
    if not settings.secret:
        raise ValueError("settings need a secret (see Settings.with_secrets)")
    if not settings.database_url:
        raise ValueError("settings need a database_url (see switchboard.cli: the embedded PostgreSQL)")
    redis = connect(settings)
    keys = Keys(settings.key_prefix)
    router = Router(
        redis,
        keys,
        Timeouts(
            inactivity_ms=int(settings.inactivity_timeout_s * 1000),
            grace_ms=int(settings.disconnect_grace_s * 1000),
        ),
    )
    local = NodeLocal()
    figures = Figures(redis, keys)
    webhooks = WebhookStore(redis, keys)
    directory = Directory(redis, keys, router)
    database = Database(settings.database_url, settings.database_pool_size)
    reports = Reports(database)
    privacy = Privacy(database)
    record = RecordReads(database)
    audit_trail = AuditTrail(database)
    event_history = EventHistory(figures, directory, record)
    mailer = Mailer.of(settings.smtp_url, settings.smtp_from, settings.smtp_timeout_s)
    transcripts = TranscriptMail(router, directory, TranscriptRequests(redis, keys), mailer)
    bot_webhooks = WebhookBots(router, directory, settings)

    async def register_sockets_again() -> None:
        for client in list(local.sockets):
            await client.register()

    return Services(
        settings=settings,
        redis=redis,
        router=router,
        directory=directory,
        hub=Hub(redis, keys, settings.node_id),
        signer=Signer(settings.secret),
        identity=IdentityVerifier.from_settings(settings),
        sweeper=Sweeper(router, settings.timer_tick_s, settings.node_id, settings.node_ttl_s, register_sockets_again),
        canned=CannedResponses(redis, keys),
        search=ConversationSearch(database),
        figures=figures,
        supervision=SupervisorFeed(figures, event_history, router, settings.stats_interval_s),
        event_history=event_history,
        visitors=Visitors(redis, keys, router, settings.web_session_idle_s),
        webhooks=webhooks,
        dispatcher=WebhookDispatcher(webhooks, settings),
        gate=Gate(settings, HandshakeCounter(redis, keys).count),
        metrics=Metrics(local.sockets, settings.node_id, figures, router.archive_backlog),
        collector=Collector(settings.gc_freeze_interval_s, settings.gc_full_interval_s),
        chats=CustomerChats(
            router, directory, record, settings.allowed_origins, settings.customer_text_limit, bot_webhooks
        ),
        database=database,
        record=record,
        privacy=PrivacyRequests(router, directory, privacy),
        archiver=Archiver(
            router,
            Archive(database),
            settings.node_id,
            interval_s=settings.archive_interval_s,
            batch=settings.archive_batch,
            lease_s=settings.archive_lease_s,
            live_retention_s=settings.live_retention_s,
            privacy=privacy,
            retention_days=settings.retention_days,
            retention_sweep_s=settings.retention_sweep_s,
        ),
        reports=reports,
        rollups=ReportRollups(reports, figures),
        local=local,
        accounts=Accounts(database),
        passwords=Passwords(settings.password_hash_memory_kib, settings.password_hash_passes),
        audit_trail=audit_trail,
        audit_backlog=AuditBacklog(audit_trail),
        login_throttle=LoginThrottle(redis, keys),
        login_links=LoginLinks(redis, keys),
        oidc=OidcProvider(settings) if settings.single_sign_on else None,
        oidc_flows=OidcFlows(redis, keys),
        password_links=PasswordLinks(redis, keys),
        mailer=mailer,
        transcripts=transcripts,
        transcripts_at_the_end=TranscriptsAtTheEnd(EndedSessions(redis, keys), directory, transcripts, settings),
        bots=BotAttendance(router, settings.bot_absent_handoff_s),
        bot_webhooks=bot_webhooks,
    )
