-- API keys of scope `bot`: they may only connect to the bot socket `/ws/bot`.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check CHECK (scope IN ('admin', 'read', 'bot'));
