-- Single sign-on and the second factor.
--
-- A second factor is enrolled in two steps: the secret waits in
-- totp_pending_secret until the user confirms it with a code, and only then
-- becomes totp_secret (required at sign-in). totp_last_step is the time step
-- (30 s) of the last code accepted: a code is accepted once, never again
-- within its window.
ALTER TABLE users ADD COLUMN totp_pending_secret text;
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- A session signed in through the OpenID Connect provider keeps the provider's
-- refresh token, to ask the provider at each renewal whether the user may still
-- sign in (a user disabled there is signed out here). Never logged, never audited.
ALTER TABLE user_sessions ADD COLUMN oidc_refresh_token text;
-- When the provider last said yes (NULL: a session that is not the provider's).
ALTER TABLE user_sessions ADD COLUMN oidc_checked_at timestamptz;
