-- Accounts: the people who sign in (users, with their role and the queues a
-- supervisor supervises), their sign-in sessions, the API keys of automation,
-- and who changed what in the audit trail. Secrets are kept only as hashes:
-- a password as Argon2id, a session secret and an API key as SHA-256 (both are
-- 256 random bits, which a fast hash protects as well as a slow one).

CREATE TABLE users (
    id            text PRIMARY KEY,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    -- a supervisor's supervised queues (an agent's routing queues are its profile's)
    queues        text[] NOT NULL DEFAULT '{}',
    -- Argon2id (argon2-cffi's encoded form); NULL: no password sign-in
    password_hash text,
    -- the second factor's secret once enrolled
    totp_secret   text,
    -- the `sub` of the OpenID Connect provider once signed in through it
    oidc_subject  text UNIQUE,
    disabled_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE user_sessions (
    id           text PRIMARY KEY,
    -- SHA-256 of the secret the cookie holds; the secret itself is never stored
    secret_hash  bytea NOT NULL UNIQUE,
    user_id      text NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now(),
    -- renewed while in use, never past created_at + the absolute cap
    expires_at   timestamptz NOT NULL,
    ip           text,
    user_agent   text
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);
CREATE INDEX user_sessions_by_expiry ON user_sessions (expires_at);

CREATE TABLE api_keys (
    id              text PRIMARY KEY,
    -- SHA-256 of the key; the key is shown once when created
    key_hash        bytea NOT NULL UNIQUE,
    name            text NOT NULL,
    scope           text NOT NULL CHECK (scope IN ('admin', 'read')),
    -- who created it as the audit trail names it (a user, a key, the admin token)
    created_by      text NOT NULL,
    -- the user who created it: its keys stop working while it is disabled
    created_by_user text REFERENCES users ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_used_at    timestamptz,
    revoked_at      timestamptz
);

-- The audit trail: from where, and what a change changed (never a secret).
ALTER TABLE audit_log ADD COLUMN ip text;
ALTER TABLE audit_log ADD COLUMN before jsonb;
ALTER TABLE audit_log ADD COLUMN after jsonb;
CREATE INDEX audit_log_by_time ON audit_log (occurred_at DESC, id DESC);
CREATE INDEX audit_log_by_actor ON audit_log (actor, occurred_at DESC);
CREATE INDEX audit_log_by_action ON audit_log (action, occurred_at DESC);
