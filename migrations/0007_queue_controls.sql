-- Queue controls (DESIGN.md §14): a queue may be paused (no claims; jobs still accepted) and
-- may have a concurrency cap (at most that many of its jobs running at once across every
-- worker and host). A queue without a row has neither. Each change NOTIFYs `jobgate_jobs`
-- with the queue's name, so idle workers look at once (a resume or a raised cap frees work).
-- Never edit this file once applied anywhere: add a new migration instead.

CREATE TABLE jobgate.queues (
    name            text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._:-]{1,128}$'),
    paused          boolean NOT NULL DEFAULT false,
    -- NULL: no cap.
    concurrency_cap integer CHECK (concurrency_cap IS NULL OR concurrency_cap BETWEEN 0 AND 1000000),
    updated_by      text NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- No new index on jobs: a capped queue's running jobs are counted through the partial index
-- of running jobs (as many rows as jobs run at once, everywhere), and only for capped queues.
