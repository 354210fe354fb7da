-- The worker's completion as a function, for its plan (DESIGN.md §4, §12), as 0010 did for the
-- claim.
--
-- Sent as a prepared statement, a completion of few jobs was planned on every call: against a
-- custom plan for a one-element array the generic plan looks dear, so PostgreSQL kept planning,
-- and planning the statement (five CTEs, the partitioned `job_events` twice) cost 0.52-0.55 ms
-- against 0.16 ms running it (pg_stat_statements over a pgbench of the worker's claim +
-- complete of one job, 4 clients: 1,305-1,372 claims and completions a second, against
-- 1,561-1,617 for 60e314d, whose completion planned in 0.28 ms). Through PgBouncer every
-- statement is sent unnamed, so it was planned on every call whatever its size. A PL/pgSQL
-- function keeps its statement's plan for the session; `force_generic_plan` makes that the
-- generic plan from the first call: the rows are found by primary key (`id = ANY($2)`), each
-- lost-reply probe through job_events_job_idx, the plan a completion of 16 or more jobs
-- already used. JIT is off for it, as for the claim.
--
-- $1 worker, then per job: $2 id, $3 attempt, $4 size, $5 content type, $6 sha256, $7 location,
-- $8 path, $9 inline content. Fenced on status, worker and attempt; returns the ids recorded,
-- now or by an earlier try whose reply was lost (JobQueries.complete documents each part).
--
-- Never edit this file once applied anywhere: add a new migration instead.
CREATE FUNCTION jobgate.complete_jobs(worker text, ids uuid[], attempts integer[], sizes bigint[],
                                      content_types text[], sha256s bytea[], locations text[],
                                      paths text[], contents bytea[])
RETURNS TABLE (id uuid)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest($2, $3, $4, $5, $6, $7, $8, $9)
            AS c(id, attempt, size, content_type, sha256, location, path, content)
    ), held AS (
        SELECT j.id FROM jobgate.jobs j
        WHERE j.id = ANY($2) AND j.status || '' = 'running' AND j.locked_by = $1
        ORDER BY j.id FOR UPDATE OF j
    ), done AS (
        UPDATE jobgate.jobs j SET status = 'completed', finished_at = now(), lease_expires_at = NULL, locked_by = NULL,
            last_error = NULL, output_size = c.size, output_content_type = c.content_type, output_sha256 = c.sha256,
            output_location = c.location, output_path = c.path
        FROM held h JOIN input c ON c.id = h.id
        WHERE j.id = h.id AND j.id = ANY($2) AND j.attempt = c.attempt
        RETURNING j.id, j.tenant, j.attempt
    ), outputs AS (
        INSERT INTO jobgate.job_outputs (job_id, content)
        SELECT d.id, c.content FROM done d JOIN input c ON c.id = d.id WHERE c.content IS NOT NULL
        ON CONFLICT (job_id) DO UPDATE SET content = EXCLUDED.content
    ), ev AS (
        INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
        SELECT d.id, d.tenant, 'completed', 'running', 'completed', d.attempt, $1 FROM done d
    )
    SELECT d.id FROM done d
    UNION ALL
    SELECT c.id FROM input c
    CROSS JOIN LATERAL (
        SELECT 1 FROM jobgate.job_events e WHERE e.job_id = c.id AND e.attempt = c.attempt AND e.worker = $1
          AND e.event IN ('completed') LIMIT 1
    ) recorded
    WHERE (SELECT count(*) FROM done) < (SELECT count(*) FROM input)
      AND NOT EXISTS (SELECT 1 FROM done a WHERE a.id = c.id);
END
$$;
REVOKE ALL ON FUNCTION jobgate.complete_jobs(text, uuid[], integer[], bigint[], text[], bytea[], text[], text[], bytea[]) FROM PUBLIC;
