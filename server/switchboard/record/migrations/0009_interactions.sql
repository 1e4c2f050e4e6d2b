-- The interactions report (record/interactions.py) pages every session of a range
-- in the order they were queued, whatever the queue.
CREATE INDEX sessions_by_queued_at ON sessions (queued_at, session_id);
