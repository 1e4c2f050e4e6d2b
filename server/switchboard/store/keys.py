"""The only Python module that spells a Redis key or channel.

Routing state of a deployment shares one hash tag (`{prefix}`) so every routing
step stays atomic on one Redis Cluster shard; a conversation's history and
message path carry the conversation's own tag, so message traffic spreads.
The Lua prelude builds the same names (`k`, `cv`, `cv_sessions` in `lua/includes/call.lua`, with the
segments of `KEY_SEGMENTS`, which the library builder writes into it; the message side's names in the
conversation scripts).
"""

from __future__ import annotations

#: The first segment of each kind of routing key. store/scripts.py writes this table
#: into the Lua prelude as `KEY`, and the scripts spell their keys with it
#: (`k(KEY.session, sid)`), so Python and Lua cannot name a key differently.
KEY_SEGMENTS = {
    "session": "s",
    "agent": "a",
    "queue_state": "q",  # a queue's waiting sessions and their ages
    "queue": "queue",  # a queue's configuration
    "visitor": "v",
    "webhook": "wh",
    "conversation": "cv",  # the routing side of a conversation
    "offer": "offer",
    "web_session": "web",
    "invite": "invite",
}


class Keys:
    def __init__(self, prefix: str = "sb") -> None:
        self.prefix = prefix
        self.root = "{" + prefix + "}"

    def _r(self, *parts: str) -> str:
        return ":".join((self.root, *parts))

    # conversation-tagged keys (the message hot path)
    def conversation(self, cid: str) -> str:
        return f"{self.prefix}:c:{{{cid}}}"

    def history(self, cid: str) -> str:
        return self.conversation(cid) + ":log"

    def client_msg_ids(self, cid: str) -> str:
        return self.conversation(cid) + ":cmid"

    # routing keys
    @property
    def data_version(self) -> str:
        """The layout of the stored data (see Router.upgrade)."""
        return self._r("data_version")

    def conversation_record(self, cid: str) -> str:
        """The routing side of a conversation (visitor, channel, created_at, session,
        open, agents, monitors): the truth; `conversation` keeps a replica of what
        the message path reads."""
        return self._r(KEY_SEGMENTS["conversation"], cid)

    def conversation_sessions(self, cid: str) -> str:
        return self._r(KEY_SEGMENTS["conversation"], cid, "sessions")

    @property
    def deadlines(self) -> str:
        return self._r("deadlines")

    @property
    def events(self) -> str:
        return self._r("events")

    @property
    def queues(self) -> str:
        return self._r("queues")

    @property
    def agents(self) -> str:
        return self._r("agents")

    def queue(self, qid: str) -> str:
        return self._r(KEY_SEGMENTS["queue"], qid)

    def queue_waiting(self, qid: str) -> str:
        return self._r(KEY_SEGMENTS["queue_state"], qid, "waiting")

    def queue_age(self, qid: str) -> str:
        return self._r(KEY_SEGMENTS["queue_state"], qid, "age")

    def queue_overflow(self, qid: str) -> str:
        """Sessions of other queues that overflowed to this one (they wait in their own)."""
        return self._r(KEY_SEGMENTS["queue_state"], qid, "overflow")

    @property
    def counters(self) -> str:
        """Deployment-wide event counters and histograms (written by `lifecycle` in lua/includes/metrics.lua)."""
        return self._r("counters")

    def transcript_requests(self, cid: str) -> str:
        """How many transcripts the conversation asked for within the limit's window (store/transcripts.py)."""
        return self._r("transcripts", cid)

    def transcript_sent(self, sid: str) -> str:
        """Set once the session's transcript went by itself (send_transcript "always")."""
        return self._r("transcripts", "sent", sid)

    def queue_members(self, qid: str) -> str:
        """The agents whose profile names the queue."""
        return self._r(KEY_SEGMENTS["queue_state"], qid, "members")

    def agent(self, aid: str) -> str:
        return self._r(KEY_SEGMENTS["agent"], aid)

    def agent_offers(self, aid: str) -> str:
        return self._r(KEY_SEGMENTS["agent"], aid, "offers")

    def agent_slots(self, aid: str) -> str:
        return self._r(KEY_SEGMENTS["agent"], aid, "slots")

    def agent_conversations(self, aid: str) -> str:
        """Conversations the agent took part in, scored by when it joined (the newest 1000)."""
        return self._r(KEY_SEGMENTS["agent"], aid, "convs")

    def agent_connections(self, aid: str) -> str:
        return self._r(KEY_SEGMENTS["agent"], aid, "conns")

    def session(self, sid: str) -> str:
        return self._r(KEY_SEGMENTS["session"], sid)

    def visitor(self, vid: str) -> str:
        return self._r(KEY_SEGMENTS["visitor"], vid)

    def visitor_web_sessions(self, vid: str) -> str:
        """The visitor's web sessions, scored by when each started."""
        return self._r(KEY_SEGMENTS["visitor"], vid, "webs")

    def visitor_journey(self, vid: str) -> str:
        """The visitor's last page views (JSON, oldest first)."""
        return self._r(KEY_SEGMENTS["visitor"], vid, "journey")

    def web_session(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["web_session"], wid)

    def invite(self, iid: str) -> str:
        return self._r(KEY_SEGMENTS["invite"], iid)

    @property
    def id_key(self) -> str:
        """The key that makes offer and invitation ids unguessable (see lua/includes/routing.lua)."""
        return self._r("id_key")

    def handshakes(self, ip: str, minute: int) -> str:
        """WebSocket handshakes from one client address in one minute (all nodes count here)."""
        return self._r("hs", str(minute), ip)

    def login_failures(self, subject: str) -> str:
        """Failed sign-ins of one subject (`account:<hash>` or `address:<ip>`) in the current window."""
        return self._r("login", "failures", subject)

    def login_wait(self, subject: str) -> str:
        """Exists while the subject must wait before its next sign-in (its TTL says how long)."""
        return self._r("login", "wait", subject)

    def login_link(self, token_hash: str) -> str:
        """The user a one-time sign-in link signs in, until it is used or expires."""
        return self._r("login", "link", token_hash)

    def oidc_flow(self, state_hash: str) -> str:
        """A sign-in through the OpenID Connect provider under way: its nonce, PKCE verifier and next page."""
        return self._r("login", "oidc", state_hash)

    def password_link(self, token_hash: str) -> str:
        """The user (and the link's purpose) an invitation's or password reset's link is for, until used or expired."""
        return self._r("password", "link", token_hash)

    def password_links_of(self, user_id: str) -> str:
        """The token hashes of a user's password links: one used, the others go."""
        return self._r("password", "links", user_id)

    @property
    def invite_rules(self) -> str:
        return self._r("invite_rules")

    @property
    def invite_rules_version(self) -> str:
        return self._r("invite_rules", "version")

    @property
    def canned_responses(self) -> str:
        return self._r("canned")

    @property
    def not_ready_reasons(self) -> str:
        """The deployment's not-ready reasons, a JSON list (read by set_state and wrap_up)."""
        return self._r("not_ready_reasons")

    # webhooks (routing-tagged: fanning events out and acknowledging them in the
    # events stream's consumer group is one atomic step; see lua/webhook_*.lua)
    @property
    def webhooks(self) -> str:
        return self._r("webhooks")

    @property
    def webhook_cursor(self) -> str:
        return self._r(KEY_SEGMENTS["webhook"], "cursor")

    @property
    def webhook_due(self) -> str:
        return self._r(KEY_SEGMENTS["webhook"], "due")

    def webhook(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid)

    def webhook_lane(self, wid: str, lane: int) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid, "lane", str(lane))

    def webhook_jobs(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid, "jobs")

    def webhook_tries(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid, "tries")

    def webhook_dead(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid, "dead")

    def webhook_recent(self, wid: str) -> str:
        """The webhook's latest delivery attempts (JSON, newest first; webhook_finish.lua keeps them)."""
        return self._r(KEY_SEGMENTS["webhook"], wid, "recent")

    def webhook_dead_info(self, wid: str) -> str:
        return self._r(KEY_SEGMENTS["webhook"], wid, "deadinfo")

    # the archive's work lists (routing-tagged: the routing steps mark their
    # conversations in the same step; see store/archive.py)
    @property
    def archive_dirty(self) -> str:
        """Conversations with changes PostgreSQL has not confirmed, scored by when first marked."""
        return self._r("archive", "dirty")

    @property
    def archive_routing(self) -> str:
        """Conversations whose routing record or sessions changed since their last copy (a
        message alone marks `archive_dirty` only, and its copy skips the sessions)."""
        return self._r("archive", "routing")

    @property
    def archive_visitors(self) -> str:
        """Visitors (and their web sessions) with changes PostgreSQL has not confirmed."""
        return self._r("archive", "visitors")

    def archive_claims(self, work: str) -> str:
        """Items of `work` ("dirty" or "visitors") a node is copying, scored by when its lease ends."""
        return self._r("archive", work, "claims")

    @property
    def archive_idle_visitors(self) -> str:
        """Visitors scored by their last sign of life: candidates to leave Redis (archive_trim_visitors)."""
        return self._r("archive", "idle_visitors")

    @property
    def archive_finished(self) -> str:
        """Conversations whose last session closed, scored by when: candidates to leave Redis."""
        return self._r("archive", "finished")

    def archive_lease(self, work: str) -> str:
        """The node that does `work` ("events", "retention"), which one node at a time does."""
        return self._r("archive", "lease", work)

    @property
    def archive_events_cursor(self) -> str:
        """The id of the last lifecycle event PostgreSQL confirmed."""
        return self._r("archive", "events")

    @property
    def erased_visitors(self) -> str:
        """The ids of erased visitors (only the ids): their tokens never say hello again."""
        return self._r("erased")

    @property
    def legacy_search_index(self) -> str:
        """The match pattern of the word index that versions before the system of record kept
        in Redis (search is PostgreSQL's now); the upgrade removes it."""
        return f"{{{self.prefix}:search}}:*"

    # pub/sub
    # the bot stage (lua/includes/bots.lua)
    @property
    def bots(self) -> str:
        """The names of the socket bots that have had conversations."""
        return self._r("bots")

    def bot_conversations(self, name: str) -> str:
        """The conversations in a socket bot's stage, scored by when they entered it."""
        return self._r("bot", name, "convs")

    def bot_seen(self, name: str) -> str:
        """When a socket of the bot was last seen connected (ms)."""
        return self._r("bot", name, "seen")

    def channel(self, recipient: str) -> str:
        """`recipient` is "a:<agent id>" or "v:<visitor id>". The recipient is the
        channel's hash tag: on Redis Cluster, sharded pub/sub spreads the channels."""
        return f"{self.prefix}:push:{{{recipient}}}"

    def recipient_of(self, channel: str) -> str:
        return channel[len(self.prefix) + 7 : -1]
