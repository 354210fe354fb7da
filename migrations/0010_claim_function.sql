-- The worker's claim as a function, for its plan (DESIGN.md §4, §14; docs/scheduling.md).
--
-- Sent as a prepared statement, the claim was planned on every call: PostgreSQL estimates a
-- `LIMIT $n` of a generic plan at a tenth of the table, so the generic plan always looked dearer
-- than a custom one and was never chosen. Planning took 0.45 ms of every claim, as long as
-- running it (pg_stat_statements over a one-worker drain at --concurrency 16: 3,145 claims,
-- 3,149 plans, 1.43 s planning against 1.72 s executing). A PL/pgSQL function keeps its
-- statements' plans for the session, and `plan_cache_mode = force_generic_plan` here makes that
-- the generic plan from the first call, through PgBouncer too (the plan lives in the server
-- session). The generic plan is the custom one's shape: every row is found through the
-- claimable indexes, and the claimed rows by primary key (`j.id = ANY(ARRAY(...))`: joined to
-- `picked` alone, the generic plan hash-joined a scan of the whole table). JIT is off for it:
-- a generic plan's cost grows with the table it might read, and past `jit_above_cost` every
-- call would compile.
--
-- Never edit this file once applied anywhere: add a new migration instead.

-- Each queue of `queues` with its share of a claim of `max_jobs` (`name`, `quota`), for both
-- claim statements: none while paused; for a capped queue, what its cap leaves, counted only
-- when the caller holds that queue's row lock (named in `locked`, taken by an earlier statement
-- of the same transaction, so the claim's snapshot sees every claim committed before); a capped
-- queue not locked is not claimed from. A plain SQL function: inlined into the statement that
-- calls it, planned as if written there.
CREATE FUNCTION jobgate.queue_shares(queues text[], max_jobs integer, locked text[])
RETURNS TABLE (name text, quota integer)
LANGUAGE sql STABLE
AS $$
    SELECT n.name, CASE
        WHEN s.paused THEN 0
        WHEN s.concurrency_cap IS NULL THEN max_jobs
        WHEN NOT n.name = ANY(locked) THEN 0
        ELSE least(max_jobs, greatest(0, s.concurrency_cap - (
            SELECT count(*) FROM jobgate.jobs r WHERE r.status = 'running' AND r.queue = n.name)))::integer
        END
    FROM unnest(queues) AS n(name) LEFT JOIN jobgate.queues s ON s.name = n.name
$$;

-- Claims up to `max_jobs` jobs of `queues` for `worker` with a lease of `lease_seconds`
-- (`locked`: the capped queues whose rows the caller locked, see queue_shares). Per queue, the
-- first claimable rows in claim order straight off `jobs_claimable_idx` (SKIP LOCKED: concurrent
-- claimers take different rows), then the best `max_jobs` across queues, set running with
-- attempt + 1 and their `started` events. When a queue has a second tenant with claimable jobs
-- (two index probes over `jobs_claimable_tenant_idx`), nothing is claimed: that queue comes
-- back as a row with a NULL id and `shared` true, and the caller claims with JobQueries.claimShared
-- (weighted fair share). One tenant per queue, the usual case, costs those probes and no more.
CREATE FUNCTION jobgate.claim_jobs(queues text[], max_jobs integer, worker text, lease_seconds float8, locked text[])
RETURNS TABLE (id uuid, tenant text, queue text, type text, payload text, attempt integer, max_attempts integer,
               timeout_seconds integer, trace_id text, queue_wait float8, shared boolean, priority smallint, run_at timestamptz)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH quota AS MATERIALIZED (
        SELECT * FROM jobgate.queue_shares($1, $2, $5)
    ), q AS (
        -- Shared: a tenant before the last (in name order) has claimable jobs here too: two
        -- probes in index order. (Not EXISTS: for EXISTS the planner may pick a sequential
        -- scan, expecting an early hit; with one tenant there is none, and it reads all.)
        -- Backwards, so each probe enters a tenant's range at its newest entries: forwards,
        -- the first one entered at the oldest, which under a backlog are the rows claimed
        -- since the last vacuum, each a heap visit to find dead.
        SELECT u.name, u.quota, u.quota > 0 AND (
            SELECT o.tenant FROM jobgate.jobs o WHERE o.queue = u.name AND o.status IN ('queued', 'retrying') AND o.tenant < (
                SELECT f.tenant FROM jobgate.jobs f WHERE f.queue = u.name AND f.status IN ('queued', 'retrying')
                ORDER BY f.tenant DESC LIMIT 1)
            ORDER BY o.tenant DESC LIMIT 1
        ) IS NOT NULL AS shared
        FROM quota u
    ), any_shared AS (
        SELECT coalesce(bool_or(q.shared), false) AS yes FROM q
    ), picked AS (
        -- Nothing at all when a queue is shared: the shared claim then claims from every queue,
        -- so a queue of one tenant does not take the whole limit ahead of a shared one.
        SELECT c.id, c.status FROM q CROSS JOIN any_shared
        CROSS JOIN LATERAL (
            SELECT x.id, x.status, x.priority, x.run_at FROM jobgate.jobs x
            WHERE x.queue = q.name AND x.status IN ('queued', 'retrying') AND x.run_at <= now()
            ORDER BY x.priority, x.run_at, x.id
            LIMIT CASE WHEN any_shared.yes THEN 0 ELSE q.quota END
            FOR UPDATE SKIP LOCKED
        ) c
        ORDER BY c.priority, c.run_at, c.id
        LIMIT $2
    ), claimed AS (
        UPDATE jobgate.jobs j SET status = 'running', attempt = j.attempt + 1, locked_by = $3,
            lease_expires_at = now() + make_interval(secs => $4), started_at = now()
        FROM picked p WHERE j.id = p.id AND j.id = ANY(ARRAY(SELECT p2.id FROM picked p2))
        RETURNING j.id, j.tenant, j.queue, j.type, j.payload::text AS payload, j.attempt, j.max_attempts,
                  j.timeout_seconds, j.trace_id, j.priority, j.run_at, p.status AS from_status,
                  greatest(extract(epoch FROM now() - j.run_at), 0)::float8 AS queue_wait
    ), ev AS (
        INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
        SELECT d.id, d.tenant, 'started', d.from_status, 'running', d.attempt, $3 FROM claimed d
    )
    SELECT d.id, d.tenant, d.queue, d.type, d.payload, d.attempt, d.max_attempts, d.timeout_seconds, d.trace_id, d.queue_wait,
           false, d.priority, d.run_at FROM claimed d
    UNION ALL
    SELECT NULL, NULL, q.name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, true, NULL, NULL FROM q WHERE q.shared
    ORDER BY 11, 12, 13, 1;
END
$$;
REVOKE ALL ON FUNCTION jobgate.claim_jobs(text[], integer, text, float8, text[]) FROM PUBLIC;
