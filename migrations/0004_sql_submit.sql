-- Enqueue from SQL (DESIGN.md §16): `jobgate.submit(...)` stores a job inside the caller's own
-- transaction, so the job, its `submitted` event and the application's own rows commit or roll
-- back together, and the workers' wake-up NOTIFY goes out at that commit (PostgreSQL delivers
-- a transaction's notifications when it commits, and drops them when it rolls back).
-- It checks what the API checks and applies the job type's defaults from `job_types`; a role
-- `jobgate_submitter` may call it and nothing else.
-- Never edit this file once applied anywhere: add a new migration instead.

-- UUIDv7 (RFC 9562) as the API makes them (UUIDv7.swift), for PostgreSQL versions without
-- uuidv7(): 48-bit Unix milliseconds, version 7, then the sub-millisecond part of
-- clock_timestamp() in the 12 bits of rand_a (RFC 9562 §6.2 method 3, as PostgreSQL 18's own
-- uuidv7() does), then the variant and 62 random bits taken from gen_random_uuid() (whose
-- last 8 bytes already carry variant 10, from the server's strong random source).
-- Ids made one after another by a session increase with the microsecond clock; two made in
-- the same microsecond, or across a clock step back, are ordered by their random bits only.
CREATE FUNCTION jobgate.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT encode(
               substring(int8send(c.us / 1000) FROM 3)                      -- 48-bit Unix milliseconds
               || int2send((28672 + (c.us % 1000) * 4096 / 1000)::smallint) -- 0x7000 | 12-bit fraction of the millisecond
               || substring(uuid_send(gen_random_uuid()) FROM 9),           -- variant 10 and 62 random bits
               'hex')::uuid
    FROM (SELECT floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS us) c
$$;

-- TenantName's rule (TenantName.swift, DESIGN.md §13): 1 to 63 bytes of [a-z0-9._-], starting
-- with a letter or a digit. The same rule as the Swift one, side by side; SQLSubmitTests checks
-- that both accept and refuse the same names. ASCII only, so characters are bytes; the "C"
-- collation keeps the ranges byte ranges whatever the database's locale.
CREATE FUNCTION jobgate.is_tenant_name(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (name COLLATE "C") ~ '^[a-z0-9][a-z0-9._-]{0,62}$' $$;

-- QueueName's rule (QueueName.swift, and the CHECK of job_types.queue in 0003): 1 to 128 of
-- the ASCII letters, digits and . _ : -. Checked against the Swift rule by SQLSubmitTests too.
CREATE FUNCTION jobgate.is_queue_name(name text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT (name COLLATE "C") ~ '^[A-Za-z0-9._:-]{1,128}$' $$;

-- jobgate.submit: the job's id (a UUIDv7), or the id of the tenant's job with the same
-- idempotency key when the request is the same one.
--   tenant           required; TenantName's rule
--   type             required; a row of job_types, which gives queue, max_attempts, timeout_seconds
--   payload          any JSON value (as the API); NULL means '{}'; at most 262144 bytes
--                    (256 KiB, the API's default payload limit) as jsonb's text form
--   queue            NULL: the type's queue; else QueueName's rule
--   priority         NULL: 0; else -32768..32767 (lower runs first)
--   run_at           NULL: now() (the transaction's start); else a finite time
--   idempotency_key  NULL: none; else 1 to 255 bytes
-- Errors (each names the field in its message and in the error's column field, and changes
-- nothing; like any error it aborts the caller's transaction unless caught by a savepoint):
--   22004 null_value_not_allowed      tenant or type is NULL
--   22023 invalid_parameter_value     bad tenant, unknown type, bad queue, payload too large,
--                                     infinite run_at, empty or too long idempotency_key
--   22003 numeric_value_out_of_range  priority outside smallint
--   23505 unique_violation            idempotency_key already used by the tenant for a
--                                     different request (the API's 409)
-- SECURITY DEFINER with a fixed search_path: it runs with the rights of the migrating role that
-- owns the tables, so its callers need no rights on them, and no object of the caller's
-- schemas can stand in for JobGate's (pg_catalog is searched first, pg_temp last).
CREATE FUNCTION jobgate.submit(
    tenant          text,
    type            text,
    payload         jsonb DEFAULT '{}',
    queue           text DEFAULT NULL,
    priority        integer DEFAULT NULL,
    run_at          timestamptz DEFAULT NULL,
    idempotency_key text DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = jobgate, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    -- The API's default payload limit (JobRequestValidator.maxPayloadBytes), in bytes.
    max_payload_bytes constant integer := 262144;
    i record;           -- the request with the type's defaults applied, named as in JobQueries
    h bytea;            -- its fingerprint
    new_id uuid;
    existing_id uuid;
    existing_hash bytea;
BEGIN
    IF submit.tenant IS NULL THEN
        RAISE EXCEPTION 'jobgate.submit: tenant must not be null'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'tenant';
    END IF;
    IF NOT jobgate.is_tenant_name(submit.tenant) THEN
        RAISE EXCEPTION 'jobgate.submit: tenant "%" is not a tenant name', submit.tenant
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'tenant',
                  HINT = 'A tenant name is 1 to 63 bytes of a-z, 0-9, ''.'', ''_'' and ''-'', starting with a letter or a digit.';
    END IF;
    IF submit.type IS NULL THEN
        RAISE EXCEPTION 'jobgate.submit: type must not be null'
            USING ERRCODE = 'null_value_not_allowed', COLUMN = 'type';
    END IF;
    SELECT submit.type AS type,
           coalesce(submit.queue, t.queue) AS queue,
           coalesce(submit.payload, '{}'::jsonb) AS payload,
           coalesce(submit.priority, 0) AS priority,
           t.max_attempts, t.timeout_seconds
      INTO i
      FROM job_types t WHERE t.name = submit.type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'jobgate.submit: unknown job type "%"; known types: %', submit.type,
                        coalesce((SELECT string_agg(t.name, ', ' ORDER BY t.name COLLATE "C") FROM job_types t), 'none')
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'type';
    END IF;
    IF NOT jobgate.is_queue_name(i.queue) THEN
        RAISE EXCEPTION 'jobgate.submit: queue "%" is not a queue name', i.queue
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'queue',
                  HINT = 'A queue name is 1 to 128 of the letters, digits and . _ : -';
    END IF;
    IF octet_length(i.payload::text) > max_payload_bytes THEN
        RAISE EXCEPTION 'jobgate.submit: payload is % bytes as JSON text; the limit is %', octet_length(i.payload::text), max_payload_bytes
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'payload';
    END IF;
    IF i.priority NOT BETWEEN -32768 AND 32767 THEN
        RAISE EXCEPTION 'jobgate.submit: priority % is outside -32768..32767', i.priority
            USING ERRCODE = 'numeric_value_out_of_range', COLUMN = 'priority';
    END IF;
    IF submit.run_at IS NOT NULL AND NOT isfinite(submit.run_at) THEN
        RAISE EXCEPTION 'jobgate.submit: run_at must be a finite time, not %', submit.run_at
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'run_at';
    END IF;
    IF submit.idempotency_key IS NOT NULL AND octet_length(submit.idempotency_key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'jobgate.submit: idempotency_key must be 1 to 255 bytes, not %', octet_length(submit.idempotency_key)
            USING ERRCODE = 'invalid_parameter_value', COLUMN = 'idempotency_key';
    END IF;

    IF submit.idempotency_key IS NOT NULL THEN
        -- JobQueries.requestHash("i"), verbatim (SQLSubmitTests checks this file contains it), so
        -- a key used through both the API and this function means the same request.
        h := sha256(convert_to(concat_ws(E'\n', i.type, i.queue, i.payload::jsonb::text, i.priority::text, i.max_attempts::text, i.timeout_seconds::text), 'UTF8'));
    END IF;

    -- As the API's submit: a key already taken skips the insert (ON CONFLICT waits for a
    -- concurrent inserter of the same key and then skips), and the existing job is looked up.
    -- A row gone again between the two (pruned) is one more round.
    FOR tries IN 1..3 LOOP
        new_id := jobgate.uuid_v7();
        INSERT INTO jobs (id, tenant, queue, type, payload, priority, run_at, max_attempts, timeout_seconds,
                          idempotency_key, request_hash)
        VALUES (new_id, submit.tenant, i.queue, i.type, i.payload, i.priority, coalesce(submit.run_at, now()),
                i.max_attempts, i.timeout_seconds, submit.idempotency_key, h)
        ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;
        IF FOUND THEN
            INSERT INTO job_events (job_id, tenant, event, to_status, attempt)
            VALUES (new_id, submit.tenant, 'submitted', 'queued', 0);
            -- The API's wake-up: channel jobgate_jobs, the queue as payload; sent at commit.
            PERFORM pg_notify('jobgate_jobs', i.queue);
            RETURN new_id;
        END IF;
        SELECT j.id, j.request_hash INTO existing_id, existing_hash
          FROM jobs j WHERE j.tenant = submit.tenant AND j.idempotency_key = submit.idempotency_key;
        IF FOUND THEN
            IF existing_hash IS NOT DISTINCT FROM h THEN
                RETURN existing_id;
            END IF;
            RAISE EXCEPTION 'jobgate.submit: idempotency_key "%" of tenant "%" was already used for a different request (job %)',
                            submit.idempotency_key, submit.tenant, existing_id
                USING ERRCODE = 'unique_violation', COLUMN = 'idempotency_key', CONSTRAINT = 'jobs_idempotency_idx',
                      HINT = 'Use a new key for a new request; the same key with the same request returns the same job.';
        END IF;
    END LOOP;
    RAISE EXCEPTION 'jobgate.submit: idempotency_key "%" kept changing hands; try again', submit.idempotency_key
        USING ERRCODE = 'serialization_failure';
END
$$;

-- Only jobgate_submitter (and the owner) may call it; the helpers stay the owner's.
REVOKE ALL ON FUNCTION jobgate.submit(text, text, jsonb, text, integer, timestamptz, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION jobgate.uuid_v7() FROM PUBLIC;
REVOKE ALL ON FUNCTION jobgate.is_tenant_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION jobgate.is_queue_name(text) FROM PUBLIC;

-- Roles are cluster-wide: another database's JobGate may have made it already, or be making
-- it right now (then CREATE ROLE fails with duplicate_object or, racing, unique_violation).
-- A migrating role without CREATEROLE cannot make it; an upgrade must not fail for that, so
-- the migration then warns with the three statements a superuser runs once, and goes on.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'jobgate_submitter') THEN
        BEGIN
            CREATE ROLE jobgate_submitter NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE WARNING 'the role jobgate_submitter does not exist and % may not create it; jobgate.submit is callable by its owner only', current_user
                    USING HINT = 'As a superuser: CREATE ROLE jobgate_submitter NOLOGIN; GRANT USAGE ON SCHEMA jobgate TO jobgate_submitter; '
                              || 'GRANT EXECUTE ON FUNCTION jobgate.submit(text, text, jsonb, text, integer, timestamptz, text) TO jobgate_submitter;';
                RETURN;
        END;
    END IF;
    GRANT USAGE ON SCHEMA jobgate TO jobgate_submitter;
    GRANT EXECUTE ON FUNCTION jobgate.submit(text, text, jsonb, text, integer, timestamptz, text) TO jobgate_submitter;
END
$$;
