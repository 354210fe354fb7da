import Foundation
@testable import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import Synchronization
import Testing

/// `jobgate.submit(...)` (migration 0004, DESIGN.md §16): a job enqueued from SQL inside the
/// caller's own transaction, checked as the API checks it, callable by `jobgate_submitter`.
@Suite struct SQLSubmitTests {
    /// A migrated database with the type `resize` (queue `images`, 5 attempts, 60 s) and the
    /// application's own table `orders`, as an application sharing the database would have.
    static func fixture(_ prefix: String) async throws -> EngineFixture {
        let f = try await EngineFixture.make(prefix)
        try await JobTypeStore(pool: f.pool).apply(
            ["resize": JobTypeSettings(timeoutSeconds: 60, maxAttempts: 5, queue: "images")], by: "test")
        try await f.pool.query("CREATE TABLE public.orders (id text PRIMARY KEY)")
        return f
    }

    /// One connection of an application, so a transaction opened by one call is still open
    /// at the next (a pool would roll it back when the call returns).
    static func session(_ f: EngineFixture, user: String? = nil) async throws -> SQLSession {
        try await SQLSession.open(f.db.url + (user.map { " user=\($0)" } ?? ""))
    }

    func count(_ f: EngineFixture, _ sql: String, _ params: [any PostgresBindable] = []) async throws -> Int {
        try await f.pool.query(sql, params).first!.decode(0, as: Int.self)
    }

    /// The SQLSTATE `body` fails with (nil when it does not fail).
    func sqlState(_ body: () async throws -> Void) async -> (state: String?, message: String) {
        do {
            try await body()
            return (nil, "")
        } catch let e as PostgresError {
            return (e.sqlState, e.message)
        } catch {
            return ("not a PostgresError: \(error)", "")
        }
    }

    @Test func commitsWithTheCallersRowsAndAWorkerClaimsIt() async throws {
        let f = try await Self.fixture("sqlcommit")
        defer { f.pool.shutdown() }
        let app = try await Self.session(f)
        defer { app.close() }
        try await app.query("BEGIN")
        try await app.query("INSERT INTO public.orders (id) VALUES ('o-1')")
        let id = try await app.query("SELECT jobgate.submit('acme', 'resize', $1)", [#"{"image": "o-1.png"}"#]).first!.decode(0, as: UUID.self)
        // Not visible to anyone else before COMMIT.
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE id = $1", [id]) == 0)
        #expect(try await count(f, "SELECT count(*) FROM public.orders") == 0)
        try await app.query("COMMIT")

        #expect(try await count(f, "SELECT count(*) FROM public.orders WHERE id = 'o-1'") == 1)
        let row = try #require(try await f.pool.query("""
            SELECT tenant, queue, type, payload->>'image', priority, max_attempts, timeout_seconds, status, attempt,
                   idempotency_key IS NULL AND request_hash IS NULL
            FROM jobgate.jobs WHERE id = $1
            """, [id]).first)
        #expect(try row.decode(0, as: String.self) == "acme")
        #expect(try row.decode(1, as: String.self) == "images", "the type's queue")
        #expect(try row.decode(2, as: String.self) == "resize")
        #expect(try row.decode(3, as: String.self) == "o-1.png")
        #expect(try row.decode(4, as: Int.self) == 0)
        #expect(try row.decode(5, as: Int.self) == 5, "the type's max_attempts")
        #expect(try row.decode(6, as: Int.self) == 60, "the type's timeout_seconds")
        #expect(try row.decode(7, as: String.self) == "queued")
        #expect(try row.decode(8, as: Int.self) == 0)
        #expect(try row.decode(9, as: Bool.self))
        #expect(try await f.events(id) == ["submitted"])

        let claimed = try await f.store.claim(queues: ["images"], limit: 10, worker: "w", leaseSeconds: 30)
        #expect(claimed.map(\.id) == [id])
        #expect(claimed.first?.payload.contains("o-1.png") == true)
    }

    @Test func rollbackLeavesNeitherTheCallersRowNorTheJob() async throws {
        let f = try await Self.fixture("sqlrollback")
        defer { f.pool.shutdown() }
        let app = try await Self.session(f)
        defer { app.close() }
        try await app.query("BEGIN")
        try await app.query("INSERT INTO public.orders (id) VALUES ('o-2')")
        let id = try await app.query("SELECT jobgate.submit('acme', 'resize', idempotency_key => 'k-rolled-back')").first!.decode(0, as: UUID.self)
        try await app.query("ROLLBACK")
        #expect(try await count(f, "SELECT count(*) FROM public.orders") == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.job_events WHERE job_id = $1", [id]) == 0)
        #expect(try await f.store.claim(queues: ["images"], limit: 10, worker: "w", leaseSeconds: 30).isEmpty)
        // The key was never taken: a new submit with it makes a new job.
        let again = try await app.query("SELECT jobgate.submit('acme', 'resize', idempotency_key => 'k-rolled-back')").first!.decode(0, as: UUID.self)
        #expect(again != id)
    }

    @Test func theWakeUpIsDeliveredAtCommitOnlyAndNotAfterARollback() async throws {
        let f = try await Self.fixture("sqlnotify")
        defer { f.pool.shutdown() }
        let listener = PostgresListener(configuration: f.db.configuration(), channels: [JobQueries.channel])
        defer { listener.stop() }
        #expect(await eventually { listener.backendPID != 0 })
        let heard = Mutex<[PostgresListenerEvent]>([])
        let drain = Task { for await e in listener.events { heard.withLock { $0.append(e) } } }
        defer { drain.cancel() }
        let app = try await Self.session(f)
        defer { app.close() }

        try await app.query("BEGIN")
        try await app.query("SELECT jobgate.submit('acme', 'resize')")
        try await app.query("SELECT jobgate.submit('acme', 'noop')")
        try await Task.sleep(for: .milliseconds(700))  // more than the listener's 200 ms poll
        #expect(heard.withLock { $0 }.isEmpty, "nothing is announced before COMMIT")
        try await app.query("ROLLBACK")
        try await Task.sleep(for: .milliseconds(700))
        #expect(heard.withLock { $0 }.isEmpty, "nothing is announced for a rolled-back submit")

        try await app.query("BEGIN")
        try await app.query("SELECT jobgate.submit('acme', 'resize')")
        try await Task.sleep(for: .milliseconds(700))
        #expect(heard.withLock { $0 }.isEmpty)
        try await app.query("COMMIT")
        #expect(await eventually(timeout: .seconds(10)) { !heard.withLock { $0 }.isEmpty })
        // The API's channel and payload: the queue.
        #expect(heard.withLock { $0 } == [.notification(channel: "jobgate_jobs", payload: "images")])
    }

    @Test func eachInvalidFieldIsRefusedWithItsSQLStateAndChangesNothing() async throws {
        let f = try await Self.fixture("sqlinvalid")
        defer { f.pool.shutdown() }
        let app = try await Self.session(f)
        defer { app.close() }
        let bigPayload = "[\"" + String(repeating: "x", count: 262_144) + "\"]"
        let cases: [(sql: String, params: [any PostgresBindable], state: String, field: String)] = [
            ("SELECT jobgate.submit('acme', 'no-such-type')", [], "22023", "type"),
            ("SELECT jobgate.submit('acme', NULL)", [], "22004", "type"),
            ("SELECT jobgate.submit('Acme', 'resize')", [], "22023", "tenant"),
            ("SELECT jobgate.submit('-acme', 'resize')", [], "22023", "tenant"),
            ("SELECT jobgate.submit('', 'resize')", [], "22023", "tenant"),
            ("SELECT jobgate.submit(NULL, 'resize')", [], "22004", "tenant"),
            ("SELECT jobgate.submit('acme', 'resize', queue => 'no spaces')", [], "22023", "queue"),
            ("SELECT jobgate.submit('acme', 'resize', queue => '')", [], "22023", "queue"),
            ("SELECT jobgate.submit('acme', 'resize', $1)", [bigPayload], "22023", "payload"),
            ("SELECT jobgate.submit('acme', 'resize', priority => 32768)", [], "22003", "priority"),
            ("SELECT jobgate.submit('acme', 'resize', priority => -32769)", [], "22003", "priority"),
            ("SELECT jobgate.submit('acme', 'resize', run_at => 'infinity')", [], "22023", "run_at"),
            ("SELECT jobgate.submit('acme', 'resize', idempotency_key => '')", [], "22023", "idempotency_key"),
            ("SELECT jobgate.submit('acme', 'resize', idempotency_key => $1)", [String(repeating: "k", count: 256)], "22023", "idempotency_key"),
        ]
        for c in cases {
            try await app.query("BEGIN")
            try await app.query("INSERT INTO public.orders (id) VALUES ('o')")
            let (state, message) = await sqlState { try await app.query(c.sql, c.params) }
            #expect(state == c.state, "\(c.sql): \(message)")
            #expect(message.contains("jobgate.submit: \(c.field)") || message.contains(" \(c.field) "), "\(c.sql): the message names \(c.field): \(message)")
            try await app.query("ROLLBACK")
        }
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.job_events") == 0)
        #expect(try await count(f, "SELECT count(*) FROM public.orders") == 0)
        // The limits themselves pass: 256 KiB of payload text, the ends of smallint, 255 bytes of key.
        let atLimit = "[\"" + String(repeating: "x", count: 262_144 - 4) + "\"]"
        try await app.query("SELECT jobgate.submit('acme', 'resize', $1, priority => -32768)", [atLimit])
        try await app.query("SELECT jobgate.submit('a', 'resize', priority => 32767, idempotency_key => $1)", [String(repeating: "k", count: 255)])
        // Any JSON value is a payload, as in the API; SQL NULL is the default '{}'.
        try await app.query("SELECT jobgate.submit('acme', 'noop', 'null'), jobgate.submit('acme', 'noop', '3'), jobgate.submit('acme', 'noop', NULL)")
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE type = 'noop' AND payload IN ('null', '3', '{}')") == 3)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 5)
    }

    @Test func defaultsComeFromJobTypesAndTheCallerOverridesQueueAndPriority() async throws {
        let f = try await Self.fixture("sqldefaults")
        defer { f.pool.shutdown() }
        let runAt = Date().addingTimeInterval(3600)
        let id = try await f.pool.query(
            "SELECT jobgate.submit('acme', 'resize', queue => 'urgent:images', priority => -5, run_at => $1)", [runAt]
        ).first!.decode(0, as: UUID.self)
        let row = try #require(try await f.pool.query(
            "SELECT queue, priority, max_attempts, timeout_seconds, abs(extract(epoch FROM run_at - $2::timestamptz)) < 0.001 FROM jobgate.jobs WHERE id = $1",
            [id, runAt]).first)
        #expect(try row.decode(0, as: String.self) == "urgent:images")
        #expect(try row.decode(1, as: Int.self) == -5)
        #expect(try row.decode(2, as: Int.self) == 5)
        #expect(try row.decode(3, as: Int.self) == 60)
        #expect(try row.decode(4, as: Bool.self))
        #expect(try await f.store.claim(queues: ["urgent:images"], limit: 10, worker: "w", leaseSeconds: 30).isEmpty, "not before run_at")
        // A built-in type without a declared queue goes to `default`.
        let noop = try await f.pool.query("SELECT jobgate.submit('acme', 'noop')").first!.decode(0, as: UUID.self)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE id = $1 AND queue = 'default' AND timeout_seconds = 60", [noop]) == 1)
    }

    @Test func theSameKeyAndRequestReturnTheSameJobAndADifferentRequestIsAConflict() async throws {
        let f = try await Self.fixture("sqlidem")
        defer { f.pool.shutdown() }
        func submit(_ payload: String, tenant: String = "acme", key: String = "order-7") async throws -> UUID {
            try await f.pool.query("SELECT jobgate.submit($1, 'resize', $2, idempotency_key => $3)", [tenant, payload, key])
                .first!.decode(0, as: UUID.self)
        }
        let id = try await submit(#"{"a": 1, "b": 2}"#)
        #expect(try await submit(#"{"b":2,"a":1}"#) == id, "same request (jsonb ignores key order and spaces)")
        let (state, message) = await sqlState { _ = try await submit(#"{"a": 2}"#) }
        #expect(state == "23505", "\(message)")
        #expect(message.contains("idempotency_key") && message.contains(id.lowercasedString), "\(message)")
        #expect(try await submit(#"{"a": 2}"#, tenant: "other") != id, "keys are per tenant")
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 2)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.job_events") == 2)

        // Two transactions racing on one key: the second waits for the first and gets its job.
        let a = try await Self.session(f), b = try await Self.session(f)
        defer { a.close(); b.close() }
        try await a.query("BEGIN")
        let first = try await a.query("SELECT jobgate.submit('acme', 'resize', idempotency_key => 'race')").first!.decode(0, as: UUID.self)
        let second = Task { try await b.query("SELECT jobgate.submit('acme', 'resize', idempotency_key => 'race')").first!.decode(0, as: UUID.self) }
        try await Task.sleep(for: .milliseconds(300))
        try await a.query("COMMIT")
        #expect(try await second.value == first)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE idempotency_key = 'race'") == 1)
    }

    /// The API (JobStore.submit with the type's defaults, as JobRequestValidator builds it) and
    /// the SQL function compute the same request hash, so one key means one job through both.
    @Test func aKeyUsedThroughTheAPIAndThroughSQLMeansOneJob() async throws {
        let f = try await Self.fixture("sqlapikey")
        defer { f.pool.shutdown() }
        let settings = try #require(try await JobTypeStore(pool: f.pool).all()["resize"])
        func apiJob(_ payload: String, key: String) -> NewJob {
            var job = settings.newJob(tenant: "acme", type: "resize", payload: payload)
            job.idempotencyKey = key
            return job
        }
        func sql(_ payload: String, key: String) async throws -> UUID {
            try await f.pool.query("SELECT jobgate.submit('acme', 'resize', $1, idempotency_key => $2)", [payload, key]).first!.decode(0, as: UUID.self)
        }
        // API first.
        let viaAPI = try await f.store.submit([apiJob(#"{"w": 1, "h": 2}"#, key: "k1")])[0].jobID
        #expect(try await sql(#"{"h":2,"w":1}"#, key: "k1") == viaAPI)
        #expect(await sqlState { _ = try await sql(#"{"h":3}"#, key: "k1") }.state == "23505")
        // SQL first.
        let viaSQL = try await sql(#"{"w": 5}"#, key: "k2")
        let replay = try await f.store.submit([apiJob(#"{"w":5}"#, key: "k2")])[0]
        #expect(replay == .existing(try #require(try await f.store.job(id: viaSQL, tenant: "acme"))))
        #expect(try await f.store.submit([apiJob(#"{"w":6}"#, key: "k2")])[0] == .conflict(existingID: viaSQL))
        // And the function's hash is the API's expression, word for word.
        let migration = try #require(Migrations.all.first { $0.name == "0004_sql_submit.sql" })
        #expect(migration.sql.contains(JobQueries.requestHash("i")))
    }

    /// TenantName and QueueName in Swift and in SQL accept and refuse the same names.
    @Test func tenantAndQueueRulesAgreeWithTheSwiftOnes() async throws {
        let f = try await EngineFixture.make("sqlrules")
        defer { f.pool.shutdown() }
        let samples = ["a", "acme", "acme-1.eu_west", "0", String(repeating: "a", count: 63), String(repeating: "a", count: 64),
                       String(repeating: "q", count: 128), String(repeating: "q", count: 129), "", "Acme", "-a", ".a", "_a", "a b",
                       "a\n", "\na", "caf\u{e9}", "cafe\u{301}", "a:b", "A:B-c.d_e", "a/b", "a$", "ä", "a\u{200b}", "日本", "a'b", "a%"]
        for s in samples {
            let row = try #require(try await f.pool.query("SELECT jobgate.is_tenant_name($1), jobgate.is_queue_name($1)", [s]).first)
            #expect(try row.decode(0, as: Bool.self) == (TenantName(s) != nil), "tenant \(s.debugDescription)")
            #expect(try row.decode(1, as: Bool.self) == QueueName.isValid(s), "queue \(s.debugDescription)")
        }
    }

    @Test func aSubmitterCanCallTheFunctionButHasNoRightsOnTheTables() async throws {
        let f = try await Self.fixture("sqlrole")
        defer { f.pool.shutdown() }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let (member, outsider) = ("jg_member_\(suffix)", "jg_outsider_\(suffix)")
        try await f.pool.query("CREATE ROLE \(member) LOGIN IN ROLE jobgate_submitter")
        try await f.pool.query("CREATE ROLE \(outsider) LOGIN")
        // Even with USAGE on the schema, someone outside jobgate_submitter may not execute it (no PUBLIC grant).
        try await f.pool.query("GRANT USAGE ON SCHEMA jobgate TO \(outsider)")
        let asMember = try await Self.session(f, user: member), asOutsider = try await Self.session(f, user: outsider)
        defer { asMember.close(); asOutsider.close() }

        let id = try await asMember.query("SELECT jobgate.submit('acme', 'resize', '{\"x\": 1}')").first!.decode(0, as: UUID.self)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE id = $1", [id]) == 1)
        #expect(try await f.events(id) == ["submitted"])
        for sql in ["SELECT count(*) FROM jobgate.jobs", "SELECT count(*) FROM jobgate.job_types",
                    "INSERT INTO jobgate.jobs (id, tenant, type) VALUES (gen_random_uuid(), 'acme', 'resize')",
                    "INSERT INTO jobgate.job_events (job_id, tenant, event) VALUES (gen_random_uuid(), 'acme', 'submitted')",
                    "UPDATE jobgate.jobs SET priority = 1", "DELETE FROM jobgate.jobs",
                    "SELECT jobgate.uuid_v7()"] {
            let (state, message) = await sqlState { _ = try await asMember.query(sql) }
            #expect(state == "42501", "\(sql): \(message)")
        }
        let (state, message) = await sqlState { _ = try await asOutsider.query("SELECT jobgate.submit('acme', 'resize')") }
        #expect(state == "42501", "\(message)")
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 1)
        // Its SECURITY DEFINER context: a fixed search_path, owned by the migrating role.
        let definer = try #require(try await f.pool.query("""
            SELECT p.prosecdef, p.proconfig::text, pg_get_userbyid(p.proowner) = current_user
            FROM pg_proc p WHERE p.oid = 'jobgate.submit(text, text, jsonb, text, integer, timestamptz, text)'::regprocedure
            """).first)
        #expect(try definer.decode(0, as: Bool.self))
        #expect(try definer.decode(1, as: String.self) == #"{"search_path=jobgate, pg_temp"}"#)
        #expect(try definer.decode(2, as: Bool.self))

        asMember.close()
        asOutsider.close()
        try await f.pool.query("DROP OWNED BY \(outsider)")
        try await f.pool.query("DROP ROLE \(member)")
        try await f.pool.query("DROP ROLE \(outsider)")
    }

    @Test func idsAreUUIDv7InTimeOrder() async throws {
        let f = try await Self.fixture("sqluuid")
        defer { f.pool.shutdown() }
        let before = Date()
        let id = try await f.pool.query("SELECT jobgate.submit('acme', 'noop')").first!.decode(0, as: UUID.self)
        let after = Date()
        #expect(id.uuid.6 >> 4 == 7, "version 7")
        #expect(id.uuid.8 >> 6 == 0b10, "variant 10")
        let ms = withUnsafeBytes(of: id.uuid) { b in (0..<6).reduce(UInt64(0)) { $0 << 8 | UInt64(b[$1]) } }
        let created = Date(timeIntervalSince1970: Double(ms) / 1000)
        #expect(created >= before.addingTimeInterval(-1) && created <= after.addingTimeInterval(1), "\(created) within \(before)…\(after)")

        let ids = try await f.pool.query("SELECT jobgate.uuid_v7() FROM generate_series(1, 2000)").map { try $0.decode(0, as: UUID.self) }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { $0.uuid.6 >> 4 == 7 && $0.uuid.8 >> 6 == 0b10 })
        // Time order to the sub-millisecond fraction (the first 64 bits, version included).
        let prefixes = ids.map { id in withUnsafeBytes(of: id.uuid) { b in (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(b[$1]) } } }
        #expect(prefixes == prefixes.sorted())
        // The random tails differ.
        #expect(Set(ids.map { withUnsafeBytes(of: $0.uuid) { Array($0[8..<16]) } }).count == ids.count)
        // Later ids sort after the API's earlier ones, and the API's later ones after them.
        let api = UUIDv7.make()
        try await Task.sleep(for: .milliseconds(5))
        let fromSQL = try await f.pool.query("SELECT jobgate.uuid_v7()").first!.decode(0, as: UUID.self)
        try await Task.sleep(for: .milliseconds(5))
        #expect(api.lowercasedString < fromSQL.lowercasedString && fromSQL.lowercasedString < UUIDv7.make().lowercasedString)
    }
}

/// A connection of its own, used from tests off the cooperative threads (its calls block).
final class SQLSession: @unchecked Sendable {
    private let lock = NSLock()
    private var connection: PostgresConnection?

    private init(_ c: PostgresConnection) { connection = c }

    static func open(_ url: String) async throws -> SQLSession {
        try await onOwnThread { SQLSession(try PostgresConnection(configuration: PostgresConfiguration(url: url))) }
    }

    @discardableResult
    func query(_ sql: String, _ parameters: [any PostgresBindable] = []) async throws -> PostgresRows {
        try await onOwnThread { [self] in
            try lock.withLock {
                guard let c = connection else { throw PostgresError(code: .connectionLost, message: "session closed") }
                return try c.query(sql, parameters, prepare: false)  // as an application would; also works in an aborted transaction
            }
        }
    }

    func close() {
        lock.withLock {
            connection?.close()
            connection = nil
        }
    }
}
