-- JobGate's initial schema (DESIGN.md §3). Everything lives in the schema
-- `jobgate`, so it can share a database with the applications it serves.
-- Never edit this file once applied anywhere: add a new migration instead.

CREATE SCHEMA IF NOT EXISTS jobgate;

-- One row per job. `id` is a UUIDv7 made by JobGate, so inserts stay index-local.
CREATE TABLE jobgate.jobs (
    id                  uuid PRIMARY KEY,
    tenant              text NOT NULL,
    queue               text NOT NULL DEFAULT 'default',
    type                text NOT NULL,
    payload             jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority            smallint NOT NULL DEFAULT 0,
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'running', 'completed', 'retrying', 'failed', 'cancelled')),
    attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    run_at              timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    finished_at         timestamptz,
    timeout_seconds     integer NOT NULL DEFAULT 300 CHECK (timeout_seconds > 0),
    lease_expires_at    timestamptz,
    locked_by           text,
    cancel_requested_at timestamptz,
    idempotency_key     text,
    -- A fingerprint of the submitted request, so a replayed idempotency key with a
    -- different request is recognised as a conflict.
    request_hash        bytea,
    last_error          text,
    trace_id            text,
    output_size         bigint,
    output_content_type text,
    output_sha256       bytea,
    output_location     text CHECK (output_location IS NULL OR output_location IN ('inline', 'file')),
    output_path         text
);

-- The claim query reads only claimable rows, in claim order: its cost does not
-- grow with finished history.
CREATE INDEX jobs_claimable_idx ON jobgate.jobs (queue, priority, run_at, id)
    WHERE status IN ('queued', 'retrying');

-- Lease expiry scan for the rescuer: running rows only.
CREATE INDEX jobs_running_lease_idx ON jobgate.jobs (lease_expires_at)
    WHERE status = 'running';

-- Idempotency: one job per tenant and key.
CREATE UNIQUE INDEX jobs_idempotency_idx ON jobgate.jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- Listing a tenant's jobs newest first (keyset on id, which is time-ordered).
CREATE INDEX jobs_tenant_id_idx ON jobgate.jobs (tenant, id DESC);

-- Retention scans finished jobs by age.
CREATE INDEX jobs_finished_idx ON jobgate.jobs (finished_at)
    WHERE finished_at IS NOT NULL;

-- Append-only history: one row per transition, written in the transition's transaction.
-- No foreign key: history outlives the job rows it describes (separate retention).
CREATE TABLE jobgate.job_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      uuid NOT NULL,
    tenant      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    event       text NOT NULL CHECK (event IN (
                    'submitted', 'started', 'completed', 'attempt_failed', 'retry_scheduled',
                    'failed', 'lease_expired', 'cancel_requested', 'cancelled', 'requeued', 'redriven')),
    from_status text,
    to_status   text,
    attempt     integer NOT NULL DEFAULT 0,
    worker      text,
    message     text,
    data        jsonb
);
CREATE INDEX job_events_job_idx ON jobgate.job_events (job_id, id);
CREATE INDEX job_events_at_idx ON jobgate.job_events (at);
CREATE INDEX job_events_tenant_at_idx ON jobgate.job_events (tenant, at);

-- Inline outputs (up to the inline threshold); larger ones are files.
CREATE TABLE jobgate.job_outputs (
    job_id  uuid PRIMARY KEY REFERENCES jobgate.jobs (id) ON DELETE CASCADE,
    content bytea NOT NULL
);

-- API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE jobgate.api_tokens (
    id           uuid PRIMARY KEY,
    tenant       text NOT NULL,
    name         text NOT NULL DEFAULT '',
    scopes       text[] NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- Keys for signed output URLs, shared by every API node through the database.
CREATE TABLE jobgate.signing_keys (
    kid        text PRIMARY KEY,
    secret     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    retired_at timestamptz
);

-- Worker registry (feeds the dashboard and `no live workers` alerts).
CREATE TABLE jobgate.workers (
    id             text PRIMARY KEY,
    host           text NOT NULL,
    pid            integer NOT NULL,
    version        text NOT NULL,
    queues         text[] NOT NULL,
    concurrency    integer NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    last_heartbeat timestamptz NOT NULL DEFAULT now(),
    stopped_at     timestamptz
);

-- The first signing key: 32 bytes from the server's strong random source
-- (gen_random_uuid uses pg_strong_random), so every API node shares it with no config.
INSERT INTO jobgate.signing_keys (kid, secret)
VALUES ('k' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 12),
        decode(replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), 'hex'));
