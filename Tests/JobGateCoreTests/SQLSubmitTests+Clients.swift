import Foundation
import JobGateCore
import JobGatePostgres
import JobGateTestSupport
import Testing

/// `jobgate.submit` from outside Swift: psql, and Python with psycopg, each in its own
/// transactions. Both tools come from scripts/test; a missing one fails the test.
extension SQLSubmitTests {
    @Test func psqlCommitsAndRollsBackTheJobWithItsOwnRows() async throws {
        let bin = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_PGBIN"],
                               "run the tests through scripts/test, which sets JOBGATE_TEST_PGBIN")
        let psql = bin + "/psql"
        #expect(FileManager.default.isExecutableFile(atPath: psql), "\(psql)")
        let f = try await Self.fixture("sqlpsql")
        defer { f.pool.shutdown() }
        let script = """
            BEGIN;
            INSERT INTO public.orders (id) VALUES ('psql-commit');
            SELECT 'committed=' || jobgate.submit('acme', 'resize', '{"order": "psql-commit"}', idempotency_key => 'psql-1');
            COMMIT;
            BEGIN;
            INSERT INTO public.orders (id) VALUES ('psql-rollback');
            SELECT 'rolledback=' || jobgate.submit('acme', 'resize', '{"order": "psql-rollback"}');
            ROLLBACK;
            """
        let output = try await runPsql(psql, f, script)
        #expect(output.status == 0, "\(output.text)")
        let committed = try #require(UUID(uuidString: value("committed", in: output.text)), "\(output.text)")
        let rolledBack = try #require(UUID(uuidString: value("rolledback", in: output.text)), "\(output.text)")
        #expect(try await count(f, "SELECT count(*) FROM public.orders WHERE id = 'psql-commit'") == 1)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE id = $1 AND payload->>'order' = 'psql-commit' AND queue = 'images'", [committed]) == 1)
        #expect(try await f.events(committed) == ["submitted"])
        #expect(try await count(f, "SELECT count(*) FROM public.orders WHERE id = 'psql-rollback'") == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs WHERE id = $1", [rolledBack]) == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.job_events WHERE job_id = $1", [rolledBack]) == 0)

        // An invalid call stops a script run with ON_ERROR_STOP, names the field, and its
        // transaction's rows are gone.
        let refused = try await runPsql(psql, f, """
            BEGIN;
            INSERT INTO public.orders (id) VALUES ('psql-invalid');
            SELECT jobgate.submit('acme', 'resize', queue => 'not a queue');
            COMMIT;
            """)
        #expect(refused.status == 3, "\(refused.text)")
        #expect(refused.text.contains("jobgate.submit: queue \"not a queue\" is not a queue name"), "\(refused.text)")
        #expect(try await count(f, "SELECT count(*) FROM public.orders WHERE id = 'psql-invalid'") == 0)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 1)
    }

    @Test func pythonWithPsycopgCommitsAndRollsBackInItsOwnTransactions() async throws {
        let python = try #require(ProcessInfo.processInfo.environment["JOBGATE_TEST_PYTHON"],
                                  "run the tests through scripts/test, which installs the Python test tools (psycopg)")
        let client = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../tools/sql_submit_client.py").standardized.path
        let f = try await Self.fixture("sqlpython")
        defer { f.pool.shutdown() }
        let run = try TestProcess([python, client, f.db.processURL])
        #expect(await run.wait(timeout: .seconds(60)) == 0, "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.hasPrefix("RESULT ") }, "\(run.output)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: String], "\(line)")
        let committed = try #require(result["committed"].flatMap(UUID.init(uuidString:)), "\(result)")
        let rolledBack = try #require(result["rolledBack"].flatMap(UUID.init(uuidString:)), "\(result)")
        #expect(result["replayed"].flatMap(UUID.init(uuidString:)) == committed, "the same key and request: the same job")
        #expect(result["invalidState"] == "22023", "\(result)")
        #expect(result["invalidColumn"] == "type", "\(result)")
        #expect(result["invalidMessage"]?.contains("unknown job type \"no-such-type\"") == true, "\(result)")

        #expect(try await count(f, "SELECT count(*) FROM public.orders") == 1)
        #expect(try await count(f, "SELECT count(*) FROM public.orders WHERE id = 'py-commit'") == 1)
        #expect(try await count(f, """
            SELECT count(*) FROM jobgate.jobs WHERE id = $1 AND payload = '{"order": "py-commit", "from": "python"}' AND priority = 3
                AND queue = 'images' AND idempotency_key = 'py-1'
            """, [committed]) == 1)
        #expect(try await f.events(committed) == ["submitted"])
        #expect(try await count(f, "SELECT count(*) FROM jobgate.jobs") == 1)
        #expect(try await count(f, "SELECT count(*) FROM jobgate.job_events WHERE job_id = $1", [rolledBack]) == 0)
        let claimed = try await f.store.claim(queues: ["images"], limit: 10, worker: "w", leaseSeconds: 30)
        #expect(claimed.map(\.id) == [committed])
    }

    /// Runs `script` through psql (no psqlrc, stop at the first error, unaligned tuples only).
    private func runPsql(_ psql: String, _ f: EngineFixture, _ script: String) async throws -> (status: Int32, text: String) {
        let path = NSTemporaryDirectory() + "jobgate-sqlsubmit-\(UUID().uuidString.prefix(8)).sql"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = try TestProcess([psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", f.db.processURL, "-f", path])
        let status = await p.wait(timeout: .seconds(60))
        return (status, p.output)
    }

    /// The text after `name=` on its own line of psql's output.
    private func value(_ name: String, in output: String) -> String {
        output.split(separator: "\n").first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) } ?? ""
    }
}
