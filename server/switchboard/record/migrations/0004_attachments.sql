-- Attachments: the files customers and agents send in a conversation. The bytes
-- (already re-encoded, for an image) and an image's thumbnail are kept here; the
-- conversation's history holds only the message that names the file. A file is
-- stored when it is uploaded, before its message is in Redis and long before the
-- conversation is archived, so there is no foreign key to `conversations`: the
-- retention sweep and erasure delete a conversation's files by its id, and
-- erasure a visitor's by `visitor_id`.

CREATE TABLE attachments (
    id              text PRIMARY KEY,
    conversation_id text NOT NULL,
    -- the conversation's customer, whoever uploaded the file
    visitor_id      text NOT NULL,
    -- who uploaded it: customer:<visitor id> or agent:<agent id>
    uploaded_by     text NOT NULL,
    name            text NOT NULL,
    -- one of the types domain/attachments.py allows, decided from the bytes
    media_type      text NOT NULL,
    size            integer NOT NULL,
    content         bytea NOT NULL,
    -- images only: at most 320 px on the longer side
    thumbnail       bytea,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_by_conversation ON attachments (conversation_id, created_at);
CREATE INDEX attachments_by_visitor ON attachments (visitor_id);
