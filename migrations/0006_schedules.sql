-- Cron schedules (DESIGN.md §14): a tenant's named schedule submits a job of its type at each
-- slot of its cron expression, in its IANA time zone. Cron is evaluated in Swift
-- (CronSchedule.swift), which stores the next slot in `next_run_at`; the workers' scheduler
-- fires due schedules with `jobgate.fire_schedule`, which makes exactly one job per slot however
-- many workers race for it (see there).
-- Never edit this file once applied anywhere: add a new migration instead.

CREATE TABLE jobgate.schedules (
    id          uuid PRIMARY KEY,
    -- TenantName's and QueueName's rules inline (jobgate.is_tenant_name and is_queue_name are
    -- the owner's only, and a CHECK calls them with the writer's rights).
    tenant      text NOT NULL CHECK ((tenant COLLATE "C") ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    -- ScheduleName's rule: 1 to 128 of the letters, digits and . _ -, starting with a letter or
    -- digit (no ':', which separates the parts of the jobs' idempotency keys).
    name        text NOT NULL CHECK ((name COLLATE "C") ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    cron        text NOT NULL CHECK (octet_length(cron) BETWEEN 1 AND 256),
    time_zone   text NOT NULL DEFAULT 'UTC' CHECK (octet_length(time_zone) BETWEEN 1 AND 64),
    type        text NOT NULL CHECK (octet_length(type) BETWEEN 1 AND 128),
    -- NULL: the type's queue when the job is made (as jobgate.submit's queue argument).
    queue       text CHECK (queue IS NULL OR (queue COLLATE "C") ~ '^[A-Za-z0-9._:-]{1,128}$'),
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    priority    smallint NOT NULL DEFAULT 0,
    enabled     boolean NOT NULL DEFAULT true,
    -- The first slot not fired yet; NULL while disabled (or when the expression has no next slot).
    next_run_at timestamptz,
    -- The latest slot fired, when it was fired, and the job it made (or why it made none).
    last_slot   timestamptz,
    last_run_at timestamptz,
    last_job_id uuid,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- One name per tenant; text equality is byte equality (DESIGN.md §13).
    CONSTRAINT schedules_tenant_name_key UNIQUE (tenant, name)
);

-- The scheduler's scan: enabled schedules by their next slot.
CREATE INDEX schedules_due_idx ON jobgate.schedules (next_run_at) WHERE enabled AND next_run_at IS NOT NULL;

-- Fires schedule `schedule_id` for slot `slot`, if its first unfired slot is still `due`:
-- moves `next_run_at` on to `next_run` and submits the slot's job, in the caller's transaction.
-- Returns one row (the job, or NULL and why none was made) when this call fired the slot, and
-- no row when another caller already had (or the schedule changed or was disabled meanwhile).
--
-- Exactly one job per slot, however many workers call this at once: the UPDATE is conditional on
-- `next_run_at = due`. Two callers that read the same `due` both reach the UPDATE; the second
-- waits for the first's row lock, and when the first commits, PostgreSQL re-checks the WHERE
-- clause on the row's new version (READ COMMITTED), where `next_run_at` has moved on: the second
-- updates nothing and returns no row. If the first rolls back, the second fires instead. The job
-- also carries the idempotency key `schedule:<name>:<slot in UTC>`, so even a schedule deleted
-- and made again under the same name cannot make a second job for a slot already fired.
--
-- The job is made by jobgate.submit (migration 0004): the same checks and type defaults as the
-- API and SQL submits, the `submitted` event and the wake-up NOTIFY. That event is then marked
-- with the schedule (message and data), in the same transaction. A submit that fails (the type
-- was removed, say) is recorded in `last_error` and the slot counts as fired: the schedule goes
-- on with its next slot rather than failing on every tick.
CREATE FUNCTION jobgate.fire_schedule(schedule_id uuid, due timestamptz, slot timestamptz, next_run timestamptz)
RETURNS TABLE (job_id uuid, error text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    s jobgate.schedules;
    made uuid;
    slot_text text := to_char(fire_schedule.slot AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"');
BEGIN
    UPDATE jobgate.schedules c
       SET next_run_at = fire_schedule.next_run, last_slot = fire_schedule.slot, last_run_at = now()
     WHERE c.id = fire_schedule.schedule_id AND c.enabled AND c.next_run_at = fire_schedule.due
    RETURNING c.* INTO s;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    BEGIN
        made := jobgate.submit(s.tenant, s.type, s.payload, s.queue, s.priority, NULL,
                               'schedule:' || s.name || ':' || slot_text);
        -- Only a job made just now has its event in this transaction (`at` >= now(), which also
        -- limits the search to today's partition); a replayed key's job was marked when made.
        UPDATE jobgate.job_events e
           SET message = 'scheduled by ' || s.name || ' for ' || slot_text,
               data = jsonb_build_object('schedule', s.name, 'slot', slot_text)
         WHERE e.job_id = made AND e.event = 'submitted' AND e.at >= now() AND e.data IS NULL;
        UPDATE jobgate.schedules c SET last_job_id = made, last_error = NULL WHERE c.id = s.id;
        RETURN QUERY SELECT made, NULL::text;
    EXCEPTION WHEN OTHERS THEN
        UPDATE jobgate.schedules c SET last_error = left(SQLERRM, 1000) WHERE c.id = s.id;
        RETURN QUERY SELECT NULL::uuid, left(SQLERRM, 1000);
    END;
END
$$;
REVOKE ALL ON FUNCTION jobgate.fire_schedule(uuid, timestamptz, timestamptz, timestamptz) FROM PUBLIC;
