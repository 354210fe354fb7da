-- Weighted fair share across tenants (DESIGN.md §14, docs/scheduling.md). When several
-- tenants have ready jobs in one queue, claims serve them in proportion to their weights.
-- Never edit this file once applied anywhere: add a new migration instead.

-- A tenant without a row has weight 1.
CREATE TABLE jobgate.tenants (
    -- The tenant name rule (DESIGN.md §13, TenantName), spelled out: is_tenant_name is not
    -- executable by every role that may claim or submit.
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    weight     integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Each tenant's virtual time in each queue (stride scheduling): jobs claimed there divided by
-- its weight, or the queue's clock when it was behind it. A claim serves the lowest first. Written
-- only by claims that saw two or more tenants with claimable jobs in the queue, so a queue with
-- one tenant (the usual case) never writes here. Rows of tenants gone idle stay (one per
-- tenant and queue) and are moved up to the clock when the tenant comes back.
CREATE TABLE jobgate.tenant_passes (
    queue  text NOT NULL,
    tenant text NOT NULL,
    pass   float8 NOT NULL,
    -- What the last claim added to `pass`: lets a claim add its share to a row that a
    -- concurrent claim moved meanwhile (INSERT ... ON CONFLICT sees only the proposed row).
    last_advance float8 NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, tenant)
);

-- Each shared queue's virtual time (its clock): below every backlogged tenant's, moved on by
-- each claim that shares the queue. A tenant behind it (new, or back from idle) starts there
-- rather than spending its old credit at once (docs/scheduling.md). One row per queue.
CREATE TABLE jobgate.fair_clocks (
    queue text PRIMARY KEY,
    vtime float8 NOT NULL
);

-- The claim's loose index scan over the tenants with claimable jobs in a queue, and each
-- tenant's first rows in claim order. Claimable rows only, like jobs_claimable_idx.
CREATE INDEX jobs_claimable_tenant_idx ON jobgate.jobs (queue, tenant, priority, run_at, id)
    WHERE status IN ('queued', 'retrying');
