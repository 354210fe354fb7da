-- History at scale (DESIGN.md §15): `job_events` becomes a table range-partitioned by day on
-- `at` (UTC days). Retention then drops whole days instead of deleting row by row, and the
-- partitions that inserts touch stay small however long the history.
--
-- The existing table is not copied: it becomes the partition `job_events_legacy` for
-- everything before tomorrow (UTC), validated by one scan. Its rows are deleted in batches
-- as before until none is left. Days from tomorrow on get a partition each, made ahead by
-- the pruner (`maintain_event_partitions`); a row whose day has none yet lands in
-- `job_events_default` and is moved into its day's partition when that is made.
-- Never edit this file once applied anywhere: add a new migration instead.

ALTER TABLE jobgate.job_events RENAME TO job_events_legacy;
-- The primary key becomes (id, at), as a partitioned table's must include `at`; attaching
-- builds it. The other indexes match the new table's and are attached as they are.
ALTER TABLE jobgate.job_events_legacy DROP CONSTRAINT job_events_pkey;
ALTER INDEX jobgate.job_events_job_idx RENAME TO job_events_legacy_job_idx;
ALTER INDEX jobgate.job_events_at_idx RENAME TO job_events_legacy_at_idx;
ALTER INDEX jobgate.job_events_tenant_at_idx RENAME TO job_events_legacy_tenant_at_idx;

-- PostgreSQL 15 has no identity columns on partitioned tables: ids come from a sequence
-- that continues where the identity stopped (dropping the identity drops its sequence,
-- which had the name the new one takes).
ALTER TABLE jobgate.job_events_legacy ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE jobgate.job_events_id_seq AS bigint;
SELECT setval('jobgate.job_events_id_seq', coalesce((SELECT max(id) FROM jobgate.job_events_legacy), 0) + 1, false);

CREATE TABLE jobgate.job_events (
    id          bigint NOT NULL DEFAULT nextval('jobgate.job_events_id_seq'),
    job_id      uuid NOT NULL,
    tenant      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    event       text NOT NULL CONSTRAINT job_events_event_check CHECK (event IN (
                    'submitted', 'started', 'completed', 'attempt_failed', 'retry_scheduled',
                    'failed', 'lease_expired', 'cancel_requested', 'cancelled', 'requeued', 'redriven')),
    from_status text,
    to_status   text,
    attempt     integer NOT NULL DEFAULT 0,
    worker      text,
    message     text,
    data        jsonb,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE jobgate.job_events_id_seq OWNED BY jobgate.job_events.id;
CREATE INDEX job_events_job_idx ON jobgate.job_events (job_id, id);
CREATE INDEX job_events_at_idx ON jobgate.job_events (at);
CREATE INDEX job_events_tenant_at_idx ON jobgate.job_events (tenant, at);

DO $$
BEGIN
    EXECUTE format('ALTER TABLE jobgate.job_events ATTACH PARTITION jobgate.job_events_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                   date_trunc('day', now(), 'UTC') + interval '1 day');
END
$$;
CREATE TABLE jobgate.job_events_default PARTITION OF jobgate.job_events DEFAULT;

-- Makes the partitions of today and the next `days_ahead` UTC days that do not exist yet, and
-- drops the day partitions wholly older than `retention_seconds` (NULL: none). Each step waits at most
-- 2 s for its lock and is skipped (tried again at the next run) rather than queueing
-- submits behind it. Returns what it made and dropped. Needs the table owner's rights.
CREATE FUNCTION jobgate.maintain_event_partitions(days_ahead integer, retention_seconds float8,
                                                 OUT created integer, OUT dropped integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '2s'
AS $$
DECLARE
    today  date := (now() AT TIME ZONE 'UTC')::date;
    -- NULL retention: drop nothing.
    cutoff timestamptz := CASE WHEN retention_seconds IS NULL THEN '-infinity' ELSE now() - make_interval(secs => retention_seconds) END;
    d      date;
    lo     timestamptz;
    hi     timestamptz;
    part   text;
BEGIN
    created := 0;
    dropped := 0;
    FOR i IN 0..days_ahead LOOP
        d := today + i;
        part := 'job_events_p' || to_char(d, 'YYYYMMDD');
        CONTINUE WHEN to_regclass('jobgate.' || part) IS NOT NULL;
        lo := d::timestamp AT TIME ZONE 'UTC';
        hi := (d + 1)::timestamp AT TIME ZONE 'UTC';
        BEGIN
            EXECUTE format('CREATE TABLE jobgate.%I (LIKE jobgate.job_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
            -- Rows that went to the default partition for want of this one move into it.
            EXECUTE format('WITH moved AS (DELETE FROM jobgate.job_events_default WHERE at >= %L AND at < %L RETURNING *) '
                           'INSERT INTO jobgate.%I SELECT * FROM moved', lo, hi, part);
            EXECUTE format('ALTER TABLE jobgate.job_events ATTACH PARTITION jobgate.%I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
            created := created + 1;
        EXCEPTION
            -- 42P17: the day is covered already (the legacy partition); 55P03: a lock was not
            -- free within lock_timeout; 23514: a row for the day arrived in the default partition
            -- meanwhile. Nothing was made; the next run tries again.
            WHEN invalid_object_definition OR lock_not_available OR check_violation THEN NULL;
        END;
    END LOOP;
    FOR part IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'jobgate.job_events'::regclass AND c.relname ~ '^job_events_p[0-9]{8}$'
        ORDER BY c.relname
    LOOP
        hi := (to_date(substr(part, 13), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC';
        CONTINUE WHEN hi > cutoff;
        BEGIN
            EXECUTE format('DROP TABLE jobgate.%I', part);
            dropped := dropped + 1;
        EXCEPTION WHEN lock_not_available THEN NULL;
        END;
    END LOOP;
END
$$;

SELECT jobgate.maintain_event_partitions(7, NULL);
