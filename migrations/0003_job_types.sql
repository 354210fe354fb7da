-- Job types live in the database (DESIGN.md §15): every API node validates submits and
-- applies defaults from this table, so none needs a job-types file; the rescuer and a
-- failed attempt's retry take the type's backoff from here, whichever worker handles them.
-- Written by `jobgate types apply FILE` and by workers for the types they serve; each
-- change NOTIFYs `jobgate_job_types` so API nodes reload at once.
-- Never edit this file once applied anywhere: add a new migration instead.

CREATE TABLE jobgate.job_types (
    name                 text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 128),
    -- QueueName's rule: 1 to 128 of the letters, digits and . _ : -
    queue                text NOT NULL DEFAULT 'default' CHECK (queue ~ '^[A-Za-z0-9._:-]{1,128}$'),
    max_attempts         integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 1000),
    timeout_seconds      integer NOT NULL CHECK (timeout_seconds BETWEEN 1 AND 86400),
    backoff_base_seconds float8 NOT NULL CHECK (backoff_base_seconds >= 0),
    backoff_cap_seconds  float8 NOT NULL CHECK (backoff_cap_seconds >= backoff_base_seconds),
    updated_by           text NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
