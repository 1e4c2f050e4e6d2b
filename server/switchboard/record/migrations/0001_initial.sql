-- The first schema: conversations with their sessions and messages, visitors with
-- their web sessions and page views, the lifecycle events, and the audit trail.
-- Typed columns for what reports and searches filter on; JSONB only for the
-- free-form (a history frame as clients receive it, an event's body).

CREATE TABLE visitors (
    visitor_id   text PRIMARY KEY,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz
);

CREATE TABLE web_sessions (
    web_session_id text PRIMARY KEY,
    visitor_id     text NOT NULL REFERENCES visitors ON DELETE CASCADE,
    started_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    first_url      text,
    last_url       text,
    pages          integer NOT NULL DEFAULT 0
);
CREATE INDEX web_sessions_by_visitor ON web_sessions (visitor_id, started_at);

CREATE TABLE page_views (
    visitor_id text NOT NULL REFERENCES visitors ON DELETE CASCADE,
    viewed_at  timestamptz NOT NULL,
    url        text NOT NULL,
    title      text,
    PRIMARY KEY (visitor_id, viewed_at, url)
);

CREATE TABLE conversations (
    conversation_id  text PRIMARY KEY,
    visitor_id       text NOT NULL REFERENCES visitors ON DELETE CASCADE,
    channel          text NOT NULL,
    language         text,
    -- the text search configuration of its language: english, german, french or simple
    search_config    regconfig NOT NULL DEFAULT 'simple',
    created_at       timestamptz NOT NULL,
    last_activity_at timestamptz,
    is_open          boolean NOT NULL,
    -- when its last session ended (NULL while one is open)
    ended_at         timestamptz,
    -- the highest history seq recorded here
    last_seq         integer NOT NULL DEFAULT 0,
    -- what was said with the customer, and the customer's name and email, in its
    -- language's configuration; internal notes apart (only who may read notes finds them)
    search           tsvector NOT NULL DEFAULT ''::tsvector,
    notes_search     tsvector NOT NULL DEFAULT ''::tsvector
);
CREATE INDEX conversations_search ON conversations USING gin (search);
CREATE INDEX conversations_notes_search ON conversations USING gin (notes_search);
CREATE INDEX conversations_by_visitor ON conversations (visitor_id);
CREATE INDEX conversations_by_activity ON conversations (last_activity_at DESC, conversation_id DESC);
CREATE INDEX conversations_by_end ON conversations (ended_at) WHERE ended_at IS NOT NULL;

CREATE TABLE sessions (
    session_id      text PRIMARY KEY,
    conversation_id text NOT NULL REFERENCES conversations ON DELETE CASCADE,
    queue           text NOT NULL,
    status          text NOT NULL,
    language        text,
    queued_at       timestamptz NOT NULL,
    connected_at    timestamptz,
    ended_at        timestamptz,
    wrapped_at      timestamptz,
    end_reason      text,
    wrap_up_code    text,
    wrap_up_notes   text,
    csat_score      smallint,
    csat_comment    text,
    agents          text[] NOT NULL DEFAULT '{}',
    customer_name   text,
    customer_email  text,
    customer_phone  text,
    -- the session as the live store shows it: cards are built from it, so an
    -- archived card reads exactly as a live one
    view            jsonb NOT NULL
);
CREATE INDEX sessions_by_conversation ON sessions (conversation_id, queued_at);
CREATE INDEX sessions_by_queue ON sessions (queue, queued_at);
CREATE INDEX sessions_by_agent ON sessions USING gin (agents);

CREATE TABLE messages (
    conversation_id text NOT NULL REFERENCES conversations ON DELETE CASCADE,
    seq             integer NOT NULL,
    -- message, note, or a history event (chat.connected, chat.ended, ...)
    kind            text NOT NULL,
    -- all, or agents (internal notes)
    audience        text NOT NULL,
    sender_role     text,
    sender_id       text,
    body            text,
    sent_at         timestamptz NOT NULL,
    -- the history event as clients receive it
    frame           jsonb NOT NULL,
    redacted_at     timestamptz,
    redacted_by     text,
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE events (
    -- the id of the event in Redis' stream, `<ms>-<n>`, split so that it sorts
    id_ms           bigint NOT NULL,
    id_n            bigint NOT NULL,
    type            text NOT NULL,
    occurred_at     timestamptz NOT NULL,
    conversation_id text,
    session_id      text,
    queue           text,
    agent           text,
    body            jsonb NOT NULL,
    PRIMARY KEY (id_ms, id_n)
);
CREATE INDEX events_by_conversation ON events (conversation_id) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_by_type ON events (type, occurred_at);

-- Erasures, exports and redactions: who, when, what; never the erased content.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_target ON audit_log (target, occurred_at);

-- Erased visitors: the id only, so that a late copy from Redis never brings one back.
CREATE TABLE erased_visitors (
    visitor_id text PRIMARY KEY,
    erased_at  timestamptz NOT NULL DEFAULT now()
);

-- Redacted messages: that one was redacted, by whom and when (a late copy of the
-- message from Redis is redacted again on arrival).
CREATE TABLE redactions (
    conversation_id text NOT NULL,
    seq             integer NOT NULL,
    redacted_by     text NOT NULL,
    redacted_at     timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
