import JobGatePostgres

/// The plans statements really run with, for plan-regression tests.
public enum QueryPlans {
    /// `EXPLAIN` of `sql` with `parameters`, planned for those values (a custom plan).
    public static func custom(_ pool: PostgresPool, _ sql: String, _ parameters: [any PostgresBindable]) async throws -> String {
        try await pool.withConnection { conn in
            try conn.query("EXPLAIN " + sql, parameters, prepare: false)
        }.map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
    }

    /// The generic plan of the query PL/pgSQL function `function` (a `regprocedure`, such as
    /// `jobgate.claim_jobs(text[], integer, text, float8, text[])`) returns with its one
    /// `RETURN QUERY … ;`, as the function runs it when it sets `plan_cache_mode =
    /// force_generic_plan`: the query is read from the catalog, prepared with the function's
    /// argument types and explained for `arguments` (SQL literals; a generic plan does not
    /// depend on them).
    public static func genericOfFunction(_ pool: PostgresPool, _ function: String, arguments: String) async throws -> String {
        try await pool.withConnection { conn in
            let rows = try conn.query("""
                SELECT prosrc, pg_get_function_identity_arguments(oid), coalesce(array_to_string(proconfig, ','), '')
                FROM pg_proc WHERE oid = $1::regprocedure
                """, [function], prepare: false)
            guard let row = rows.first else { throw TestSetupError("no function \(function)") }
            let (source, identity, config) = (try row.decode(0, as: String.self), try row.decode(1, as: String.self), try row.decode(2, as: String.self))
            guard config.contains("plan_cache_mode=force_generic_plan") else {
                throw TestSetupError("\(function) does not force generic plans: \(config)")
            }
            guard let start = source.range(of: "RETURN QUERY"), let end = source.range(of: ";", options: .backwards, range: start.upperBound..<source.endIndex)
            else { throw TestSetupError("no RETURN QUERY …; in \(function)") }
            // The argument types alone ("queues text[], …" → "text[], …").
            let types = identity.split(separator: ",").map { $0.split(separator: " ", maxSplits: 1).last.map(String.init) ?? "" }
            try conn.execute(script: "PREPARE jobgate_plan_probe(\(types.joined(separator: ", "))) AS \(source[start.upperBound..<end.lowerBound])")
            defer { try? conn.execute(script: "DEALLOCATE jobgate_plan_probe; RESET plan_cache_mode") }
            try conn.execute(script: "SET plan_cache_mode = force_generic_plan")
            return try conn.query("EXPLAIN EXECUTE jobgate_plan_probe(\(arguments))", prepare: false)
                .map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
        }
    }

    /// The claim's generic plan (`jobgate.claim_jobs`) for a claim of `limit` from `queue`.
    public static func claim(_ pool: PostgresPool, queue: String = "default", limit: Int = 100) async throws -> String {
        try await genericOfFunction(pool, "jobgate.claim_jobs(text[], integer, text, float8, text[])",
                                    arguments: "ARRAY['\(queue)'], \(limit), 'w', 30, '{}'")
    }

    /// The completion's generic plan (`jobgate.complete_jobs`; it does not depend on the batch).
    public static func complete(_ pool: PostgresPool) async throws -> String {
        try await genericOfFunction(pool, "jobgate.complete_jobs(text, uuid[], integer[], bigint[], text[], bytea[], text[], text[], bytea[])",
                                    arguments: "'w', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'")
    }
}
