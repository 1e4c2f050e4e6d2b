-- Reports (issue 22): rollups of closed 15-minute buckets per queue and per agent, and the
-- indexes the raw folds use. One column per counter of domain/reporting.py (QueueCounters,
-- AgentCounters), so a report sums them in SQL; the counters keyed by a name (channels,
-- ratings, wrap-up codes, not-ready reasons) are JSONB maps of numbers.

-- The raw events of a range (the open tail of a report, a stale bucket, a rebuild).
CREATE INDEX events_by_time ON events (occurred_at);
-- An agent's last state change before a time.
CREATE INDEX events_state_changes ON events (agent, occurred_at) WHERE type = 'agent.state_changed';

CREATE TABLE report_queue_buckets (
    bucket          timestamptz NOT NULL,
    queue           text NOT NULL,
    offered         bigint NOT NULL DEFAULT 0,
    transfers_in    bigint NOT NULL DEFAULT 0,
    transfers_out   bigint NOT NULL DEFAULT 0,
    answered        bigint NOT NULL DEFAULT 0,
    answered_in_sl  bigint NOT NULL DEFAULT 0,
    answer_wait_ms  bigint NOT NULL DEFAULT 0,
    abandoned       bigint NOT NULL DEFAULT 0,
    short_abandoned bigint NOT NULL DEFAULT 0,
    abandon_wait_ms bigint NOT NULL DEFAULT 0,
    max_wait_ms     bigint NOT NULL DEFAULT 0,
    handled         bigint NOT NULL DEFAULT 0,
    talk_ms         bigint NOT NULL DEFAULT 0,
    wrap_ms         bigint NOT NULL DEFAULT 0,
    conferences     bigint NOT NULL DEFAULT 0,
    ronas           bigint NOT NULL DEFAULT 0,
    declines        bigint NOT NULL DEFAULT 0,
    bot_contained   bigint NOT NULL DEFAULT 0,
    handed_off      bigint NOT NULL DEFAULT 0,
    csat_responses  bigint NOT NULL DEFAULT 0,
    csat_sum        bigint NOT NULL DEFAULT 0,
    csat            jsonb NOT NULL DEFAULT '{}',
    channels        jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket, queue)
);

CREATE TABLE report_agent_buckets (
    bucket         timestamptz NOT NULL,
    agent          text NOT NULL,
    offered        bigint NOT NULL DEFAULT 0,
    accepted       bigint NOT NULL DEFAULT 0,
    declined       bigint NOT NULL DEFAULT 0,
    ronas          bigint NOT NULL DEFAULT 0,
    handled        bigint NOT NULL DEFAULT 0,
    talk_ms        bigint NOT NULL DEFAULT 0,
    wrap_ms        bigint NOT NULL DEFAULT 0,
    csat_responses bigint NOT NULL DEFAULT 0,
    csat_sum       bigint NOT NULL DEFAULT 0,
    available_ms   bigint NOT NULL DEFAULT 0,
    busy_ms        bigint NOT NULL DEFAULT 0,
    not_ready_ms   bigint NOT NULL DEFAULT 0,
    rona_ms        bigint NOT NULL DEFAULT 0,
    offline_ms     bigint NOT NULL DEFAULT 0,
    wrap_codes     jsonb NOT NULL DEFAULT '{}',
    not_ready_reason_ms jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket, agent)
);

-- The same sums per hour (UTC): a report by hour, day, week or month in a zone whose offsets are
-- whole hours reads these, a quarter of the rows.
CREATE TABLE report_queue_hours (LIKE report_queue_buckets INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);
CREATE TABLE report_agent_hours (LIKE report_agent_buckets INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES);

-- Every hour before `rolled_until` is rolled up, but those in report_stale_hours.
CREATE TABLE report_rollup (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    rolled_until timestamptz NOT NULL
);

-- Hours rolled up before a late event of theirs arrived: rolled again, folded raw until then.
CREATE TABLE report_stale_hours (
    hour timestamptz PRIMARY KEY
);

CREATE FUNCTION report_mark_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO report_stale_hours (hour)
    SELECT DISTINCT to_timestamp(floor(extract(epoch FROM n.occurred_at) / 3600) * 3600)
    FROM new_events n, report_rollup r
    WHERE n.occurred_at < r.rolled_until
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_late_for_reports AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION report_mark_stale();
