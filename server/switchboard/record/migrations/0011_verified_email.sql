-- The customer's earlier conversations by the same verified email (GET /api/v1/conversations?email=):
-- only a session whose contact was verified counts, so a typed-in address finds nothing.
CREATE INDEX sessions_by_verified_email ON sessions (lower(view -> 'customer' ->> 'email'))
    WHERE view ->> 'verified' = '1';
