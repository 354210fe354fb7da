/// The claim statements (DESIGN.md §4, §14; docs/scheduling.md): the claim of queues with one
/// tenant, and the fair-share claim of queues several tenants share.
extension JobQueries {
    /// Each queue of $1 with its share of a claim of $2 (`name`, `quota`), given the capped
    /// queues whose rows the caller locked ($5): `jobgate.queue_shares` (migration 0010), a SQL
    /// function the planner inlines.
    static let queueShares = "SELECT * FROM jobgate.queue_shares($1::text[], $2::integer, $5::text[])"

    /// The CTEs `claimed` (the rows of `picked` whose `filter` holds set running, attempt + 1,
    /// a lease of $4 seconds for worker $3) and `ev` (their `started` events). The shared claim
    /// also names the ids as an array: rows are then found by primary key whatever the planner
    /// guesses of `picked` (a generic plan once hash-joined a scan of the whole table).
    static func startPicked(_ filter: String) -> String {
        """
        claimed AS (
            UPDATE jobgate.jobs j SET status = 'running', attempt = j.attempt + 1, locked_by = $3,
                lease_expires_at = now() + make_interval(secs => $4::float8), started_at = now()
            FROM picked p WHERE \(filter)
            RETURNING j.id, j.tenant, j.queue, j.type, j.payload::text AS payload, j.attempt, j.max_attempts,
                      j.timeout_seconds, j.trace_id, j.priority, j.run_at, p.status AS from_status,
                      greatest(extract(epoch FROM now() - j.run_at), 0)::float8 AS queue_wait
        ), ev AS (
            INSERT INTO jobgate.job_events (job_id, tenant, event, from_status, to_status, attempt, worker)
            SELECT id, tenant, 'started', from_status, 'running', attempt, $3 FROM claimed
        )
        """
    }

    /// $1 queues, $2 limit, $3 worker, $4 lease seconds, $5 the capped queues whose rows the caller
    /// locked (`lockCappedQueues`; empty outside such a transaction). `jobgate.claim_jobs`
    /// (migration 0010, where the statement and its plan are explained): per queue the first
    /// claimable rows in claim order (SKIP LOCKED), then the best `$2` across queues; a queue
    /// where a second tenant has claimable jobs makes it claim nothing and come back as a row
    /// with a NULL id and `shared` true, and `claimShared` claims from all the queues. A
    /// function so that its plan is made once per session, not on every claim.
    package static let claim = """
        SELECT id, tenant, queue, type, payload, attempt, max_attempts, timeout_seconds, trace_id, queue_wait, shared, priority, run_at
        FROM jobgate.claim_jobs($1::text[], $2::integer, $3::text, $4::float8, $5::text[])
        """

    /// The claim when `claim` found several tenants with claimable jobs in a queue of $1 (then
    /// it claimed nothing; $1-$5 as for `claim`): queues of one tenant in claim order, shared
    /// ones by the tenants' weights, taken across queues by priority and then in turn. The algorithm and its bounds
    /// are in docs/scheduling.md. Per queue, its share of the claim (pause, cap), then the tenants
    /// with claimable jobs there, by a loose index scan over `jobs_claimable_tenant_idx` (one probe
    /// per tenant, at most 1000), shared by weighted virtual time (stride scheduling): each
    /// tenant's k-th next row gets the tag `start + k / weight`, the lowest tags win, and the
    /// winners' `tenant_passes` advance by what they got. When tenants run short of ready rows the
    /// rest of the share goes in claim order (a queue found with one tenant after all is claimed
    /// as `claim` does). SKIP LOCKED throughout: concurrent claimers take different rows.
    package static let claimShared = """
        WITH RECURSIVE q AS (
            \(queueShares)
        ), t AS (
            -- The tenants with claimable jobs in each queue with a share, in name order: one index
            -- probe each (a single tenant costs two), at most 1000 per queue.
            SELECT q.name AS queue, f.tenant, 1 AS n FROM q CROSS JOIN LATERAL (
                SELECT j.tenant FROM jobgate.jobs j WHERE j.queue = q.name AND j.status IN ('queued', 'retrying')
                ORDER BY j.tenant LIMIT 1
            ) f WHERE q.quota > 0
            UNION ALL
            SELECT t.queue, x.tenant, t.n + 1 FROM t CROSS JOIN LATERAL (
                SELECT j.tenant FROM jobgate.jobs j WHERE j.queue = t.queue AND j.status IN ('queued', 'retrying')
                    AND j.tenant > t.tenant
                ORDER BY j.tenant LIMIT 1
            ) x WHERE t.n < 1000
        ), shared AS (
            SELECT t.queue FROM t GROUP BY t.queue HAVING count(*) > 1
        ), w AS (
            -- The tenants of shared queues: weight (1 without a row) and virtual time (NULL: none yet).
            SELECT t.queue, t.tenant, coalesce(tw.weight, 1)::float8 AS weight, tp.pass
            FROM t JOIN shared USING (queue)
            LEFT JOIN jobgate.tenants tw ON tw.name = t.tenant
            LEFT JOIN jobgate.tenant_passes tp ON tp.queue = t.queue AND tp.tenant = t.tenant
        ), wq AS (
            -- Per shared queue: its virtual time `v` (the clock of `fair_clocks`; before the
            -- first shared claim, the lowest virtual time of its tenants), this claim's step (the
            -- virtual time one full share of the claim is worth) and the lightest weight.
            SELECT w.queue, coalesce(max(c.vtime), min(w.pass), 0) AS v, q.quota::float8 / sum(w.weight) AS step,
                   min(w.weight) AS wmin, q.quota
            FROM w JOIN q ON q.name = w.queue LEFT JOIN jobgate.fair_clocks c ON c.queue = w.queue
            GROUP BY w.queue, q.quota
        ), s AS (
            -- Each tenant starts at its own virtual time, or at the queue's when behind it: a
            -- tenant back from idle (or new) gets its share from now on, not its old credit as a
            -- burst; a backlogged tenant is never behind the clock (docs/scheduling.md).
            SELECT w.queue, w.tenant, w.weight, greatest(w.pass, wq.v) AS start, wq.step, wq.quota
            FROM w JOIN wq USING (queue)
        ), e AS (
            -- `lim` bounds each tenant's rows: enough to reach one step past the furthest start
            -- (where all tenants together have a full claim), never more than the claim.
            SELECT s.queue, s.tenant, s.weight, s.start, s.quota,
                   least(s.quota::float8, ceil((max(s.start) OVER (PARTITION BY s.queue) + s.step - s.start) * s.weight) + 1)::int AS lim,
                   row_number() OVER (PARTITION BY s.queue ORDER BY s.start + 1 / s.weight, s.tenant) AS turn
            FROM s
        ), cand AS (
            -- The next rows of at most `quota` tenants (those whose first row comes first), each
            -- tenant's in claim order, tagged with their virtual finish time. (Through arrays and
            -- back WITH ORDINALITY: the planner then expects a few rows, not a tenth of the
            -- backlog, and keeps the statement's cost far below `jit_above_cost`.)
            SELECT e.queue, u.id, u.status, u.priority, u.run_at, e.start + u.k / e.weight AS tag
            FROM e CROSS JOIN LATERAL (
                SELECT array_agg(x.id ORDER BY x.priority, x.run_at, x.id) AS ids,
                       array_agg(x.status ORDER BY x.priority, x.run_at, x.id) AS statuses,
                       array_agg(x.priority ORDER BY x.priority, x.run_at, x.id) AS priorities,
                       array_agg(x.run_at ORDER BY x.priority, x.run_at, x.id) AS run_ats
                FROM (
                    SELECT id, status, priority, run_at FROM jobgate.jobs
                    WHERE queue = e.queue AND tenant = e.tenant AND status IN ('queued', 'retrying') AND run_at <= now()
                    ORDER BY priority, run_at, id
                    LIMIT e.lim
                    FOR UPDATE SKIP LOCKED
                ) x
            ) a
            CROSS JOIN LATERAL unnest(a.ids, a.statuses, a.priorities, a.run_ats) WITH ORDINALITY AS u(id, status, priority, run_at, k)
            WHERE e.turn <= e.quota
        ), ranked AS (
            SELECT c.*, row_number() OVER (PARTITION BY c.queue ORDER BY c.tag, c.priority, c.run_at, c.id) AS r FROM cand c
        ), taken AS (
            SELECT s.queue, count(c.id) AS n, coalesce(array_agg(c.id) FILTER (WHERE c.id IS NOT NULL), '{}') AS ids
            FROM shared s LEFT JOIN cand c ON c.queue = s.queue GROUP BY s.queue
        ), picked AS (
            SELECT id, status, priority, run_at, r FROM (
                -- Several tenants: the lowest tags, up to the queue's share.
                SELECT r.id, r.status, r.priority, r.run_at, r.r FROM ranked r JOIN q ON q.name = r.queue WHERE r.r <= q.quota
                UNION ALL
                -- One tenant: its first rows in claim order, as without fair share. Several, of
                -- which some had fewer ready rows than their share: the rest of it in claim order
                -- (most claims: LIMIT 0, nothing read).
                SELECT c.id, c.status, c.priority, c.run_at, coalesce(a.n, 0) + c.k FROM q
                LEFT JOIN taken a ON a.queue = q.name
                CROSS JOIN LATERAL (
                    SELECT y.*, row_number() OVER (ORDER BY y.priority, y.run_at, y.id) AS k FROM (
                        SELECT id, status, priority, run_at FROM jobgate.jobs
                        WHERE queue = q.name AND status IN ('queued', 'retrying') AND run_at <= now()
                            AND NOT id = ANY(coalesce(a.ids, '{}'))
                        ORDER BY priority, run_at, id
                        LIMIT CASE WHEN a.queue IS NULL THEN q.quota ELSE greatest(0, q.quota - a.n) END
                        FOR UPDATE SKIP LOCKED
                    ) y
                ) c
            ) u
            -- Across queues by priority, then turn about (each queue's first row, then each
            -- one's second…): within a queue, claim order or, shared, tag order.
            ORDER BY priority, r, run_at, id
            LIMIT $2
        ), \(startPicked("j.id = p.id AND j.id = ANY(ARRAY(SELECT id FROM picked))"))
        , passes AS (
            -- The served tenants' virtual time moves on by what they got over their weight, added
            -- to what concurrent claims wrote meanwhile; rows locked in (queue, tenant) order.
            INSERT INTO jobgate.tenant_passes AS tp (queue, tenant, pass, last_advance)
            SELECT e.queue, e.tenant, e.start + s.n / e.weight, s.n / e.weight
            FROM (SELECT queue, tenant, count(*)::float8 AS n FROM claimed GROUP BY queue, tenant) s
            JOIN e ON e.queue = s.queue AND e.tenant = s.tenant
            ORDER BY e.queue, e.tenant
            ON CONFLICT (queue, tenant) DO UPDATE
                SET pass = greatest(tp.pass, EXCLUDED.pass - EXCLUDED.last_advance) + EXCLUDED.last_advance,
                    last_advance = EXCLUDED.last_advance
        ), clock AS (
            -- The queue's clock moves to the highest tag claimed less one job of the lightest
            -- tenant: every backlogged tenant's virtual time is at least that (its next row's tag
            -- was not below the claim's highest), so the clock never holds one back.
            INSERT INTO jobgate.fair_clocks AS fc (queue, vtime)
            SELECT c.queue, max(c.tag) - 1 / max(wq.wmin)
            FROM claimed d JOIN cand c ON c.id = d.id JOIN wq ON wq.queue = c.queue
            GROUP BY c.queue ORDER BY c.queue
            ON CONFLICT (queue) DO UPDATE SET vtime = greatest(fc.vtime, EXCLUDED.vtime)
        )
        SELECT id, tenant, queue, type, payload, attempt, max_attempts, timeout_seconds, trace_id, queue_wait FROM claimed
        ORDER BY priority, run_at, id
        """
}
