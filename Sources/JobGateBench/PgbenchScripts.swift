import Foundation
import JobGateCore

/// pgbench scripts made of the engine's own statements, for the SQL ceilings of `bench/run`
/// (`jobgate bench pgbench-script NAME` prints one). Each is a `JobQueries` statement with its
/// `$k` parameters replaced by the values JobGate binds, built in SQL from pgbench variables,
/// so the ceiling measures exactly what JobGate sends and cannot drift from it.
///
/// Run them with `-D n=N` (jobs a statement);
/// jobs/s = tps × n.
public enum PgbenchScripts {
    /// The script names, in the order `jobgate bench pgbench-script` lists them.
    public static let names = ["submit", "claim-complete"]

    /// The script called `name`, or nil.
    public static func named(_ name: String) -> String? {
        switch name {
        case "submit": return submit
        case "claim-complete": return claimComplete
        default: return nil
        }
    }

    /// `JobQueries.submit` as the API's group commit sends it (one autocommit statement, no
    /// idempotency keys) for `:n` noop jobs as the API makes them:
    /// - `$1` ids: UUIDv7 (48-bit Unix milliseconds, version 7, random rest) built from
    ///   `clock_timestamp()` as `UUIDv7.make` does, so inserts land at the right edge of the
    ///   primary key as JobGate's do (random v4 ids would scatter them over the index);
    /// - `$2` tenants `bench`, `$3` queues `pgbench-submit`, `$4` types `noop`, `$5` payloads `{}`;
    /// - `$6` priorities 0, `$7` run_at NULL (= now()), `$8` max_attempts 3 and `$9` timeouts 60
    ///   (noop's type settings), `$10` idempotency keys NULL, `$11` trace ids NULL.
    /// Building the ids costs PostgreSQL a little CPU that JobGate spends in Swift, so the
    /// ceiling is if anything slightly low.
    public static var submit: String {
        let ids = """
            array(SELECT (substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(r, 16, 3) || substr(r, 19))::uuid
                  FROM (SELECT lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') AS t,
                               gen_random_uuid()::text AS r
                        FROM generate_series(1, :n)) v)
            """
        let sql = substituting(JobQueries.submit, [
            1: ids, 2: fill("'bench'::text"), 3: fill("'pgbench-submit'::text"), 4: fill("'noop'::text"),
            5: fill("'{}'::text"), 6: fill("0"), 7: fill("NULL::timestamptz"), 8: fill("3"), 9: fill("60"),
            10: fill("NULL::text"), 11: fill("NULL::text"),
        ])
        return "-- JobQueries.submit for :n noop jobs (see PgbenchScripts.submit)\n" + sql + ";\n"
    }

    /// The worker's claim then its batch completion, two autocommit statements as
    /// `JobStore.claim` and `JobStore.complete` send them; with `-D complete=0` the claim alone
    /// (the claimed jobs stay running), the claim's own ceiling.
    /// 1. `JobQueries.claim` with `$1` queues `{pgbench}`, `$2` limit `:n`, `$3` worker
    ///    `'pgb' || :client_id`, `$4` lease 30 s (WorkerPool's default), in a CTE: pgbench keeps
    ///    one row (`\gset`), so the claimed ids and attempts come back as two arrays instead of
    ///    `:n` rows.
    /// 2. `JobQueries.complete` with `$1` that worker, `$2`/`$3` the claimed ids and attempts,
    ///    and `$4`–`$9` (output size, content type, sha256, location, path, inline content) one
    ///    NULL per job, as `JobStore.complete` binds them for noop jobs, which return no output.
    public static var claimComplete: String {
        let worker = "'pgb' || :client_id"
        let claim = substituting(JobQueries.claim, [1: "ARRAY['pgbench']", 2: ":n", 3: worker, 4: "30", 5: "'{}'"])
        let nulls = { (type: String) in "array_fill(NULL::\(type), ARRAY[:claimed::int])" }
        let complete = substituting(JobQueries.complete, [
            1: worker, 2: ":ids", 3: ":attempts", 4: nulls("bigint"), 5: nulls("text"), 6: nulls("bytea"),
            7: nulls("text"), 8: nulls("text"), 9: nulls("bytea"),
        ])
        return """
            -- JobQueries.claim, then JobQueries.complete when :complete (see PgbenchScripts.claimComplete)
            WITH claimed AS (
            \(claim)
            )
            SELECT coalesce(array_agg(id ORDER BY priority, run_at, id), '{}') AS ids,
                   coalesce(array_agg(attempt ORDER BY priority, run_at, id), '{}') AS attempts, count(*) AS claimed
            FROM claimed
            \\gset
            \\if :complete
            \(complete);
            \\endif

            """
    }

    /// `:n` copies of `value`.
    static func fill(_ value: String) -> String {
        "array_fill(\(value), ARRAY[:n::int])"
    }

    /// `sql` with every `$k` replaced by `(values[k])` (casts after it stay). Every parameter
    /// of `sql` must have a value. pgbench reads a statement up to its `;`, so no value may
    /// end one, and the script's lines must not start a backslash command.
    static func substituting(_ sql: String, _ values: [Int: String]) -> String {
        var out = ""
        var rest = Substring(sql)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            let digits = rest[rest.index(after: dollar)...].prefix(while: \.isNumber)
            guard let k = Int(digits), let value = values[k] else {
                preconditionFailure("no value for parameter $\(digits) of a pgbench script")
            }
            out += "(" + value + ")"
            rest = rest[digits.endIndex...]
        }
        return out + rest
    }
}
