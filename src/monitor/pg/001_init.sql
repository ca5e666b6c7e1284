-- The request log and the daily totals in Postgres (team mode): the same
-- columns as the SQLite log, shared by every replica.
CREATE TABLE requests (
    row BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    client TEXT NOT NULL,
    route TEXT NOT NULL,
    model TEXT NOT NULL,
    served_model TEXT,
    account TEXT,
    account_id TEXT,
    key_name TEXT,
    stream BOOLEAN NOT NULL,
    fell_back BOOLEAN NOT NULL DEFAULT FALSE,
    status INTEGER NOT NULL,
    total_ms DOUBLE PRECISION NOT NULL,
    upstream_ms DOUBLE PRECISION,
    overhead_ms DOUBLE PRECISION,
    ttfb_ms DOUBLE PRECISION,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    cost_usd DOUBLE PRECISION,
    attempts INTEGER NOT NULL,
    error TEXT,
    request_body TEXT,
    response_body TEXT
);
CREATE INDEX requests_time ON requests (time_ms);
CREATE INDEX requests_key ON requests (key_name, time_ms);

-- One row per UTC day, account, model and client key; retention trims
-- `requests`, never this table.
CREATE TABLE daily_totals (
    day TEXT NOT NULL,
    account_id TEXT NOT NULL,
    account TEXT NOT NULL,
    model TEXT NOT NULL,
    key_name TEXT NOT NULL,
    requests BIGINT NOT NULL,
    errors BIGINT NOT NULL,
    input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    cached_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL,
    unpriced BIGINT NOT NULL,
    PRIMARY KEY (day, account_id, model, key_name)
);
