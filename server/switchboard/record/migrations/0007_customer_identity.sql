-- The customer's earlier conversations: by the host site's id of the customer (its
-- signed identity, kept in the session's view) and by visitor.
CREATE INDEX sessions_by_external_id ON sessions ((view -> 'customer' ->> 'external_id'))
    WHERE view -> 'customer' ? 'external_id';
