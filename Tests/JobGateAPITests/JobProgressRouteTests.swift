import Foundation
import JobGateClient
import JobGateCore
import JobGateHTTP
import JobGateTestSupport
import JobGateWorker
import Testing

/// Progress end to end (DESIGN.md §14): a command job type run by a real `jobgate worker`
/// process writes progress lines to `$JOBGATE_PROGRESS_FD`; `GET /v1/jobs/{id}` shows them
/// while it runs and keeps the last after it completes; `jobgate status --wait` prints them.
@Suite struct JobProgressRouteTests {
    @Test func aCommandsProgressLinesShowInTheJobAndInStatusWait() async throws {
        let dir = NSTemporaryDirectory() + "jobgate-progress-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gate = dir + "/go"
        // Valid lines, a malformed one, an over-long message; it finishes once the test says so.
        let script = """
            p=$JOBGATE_PROGRESS_FD
            echo "progress 1/3 step one" >&$p
            echo "progress: not a progress line" >&$p
            while [ ! -e "$GATE" ]; do sleep 0.05; done
            long=$(printf 'm%.0s' $(seq 1 300))
            echo "progress 3/3 $long" >&$p
            echo ok
            """
        let types = dir + "/types.json"
        let spec: [String: Any] = ["stepper": ["argv": ["/bin/sh", "-c", script], "environment": ["GATE": gate], "timeoutSeconds": 120]]
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: types))
        let registry = try HandlerRegistry.builtIn(jobTypesFile: types)
        let f = try await APIFixture.make("progcmd", types: registry.declaredSettings)
        defer { Task { await f.stop() } }
        let worker = try TestProcess([try JobGateBinary.path(), "worker", "--job-types", types, "--concurrency", "2",
                                      "--output-dir", dir + "/outputs", "--grace-seconds", "2"],
                                     environment: ["JOBGATE_DATABASE_URL": f.db.processURL, "JOBGATE_LOG_LEVEL": "warn"])
        defer { worker.signal(SIGKILL) }
        let secret = try await f.token()
        let c = try f.client(secret)
        let submitted = try await c.send("POST", "/v1/jobs", json: ["type": "stepper"])
        #expect(submitted.status == 202, "\(submitted.text)")
        let id = try #require(submitted.string("jobId"))

        func progress() async throws -> (status: String?, progress: [String: Any]?) {
            let r = try await c.send("GET", "/v1/jobs/\(id)")
            return (r.string("status"), r.object?["progress"] as? [String: Any])
        }
        var running: [String: Any]?
        #expect(try await eventually(timeout: .seconds(30)) {
            let (status, p) = try await progress()
            running = p
            return status == "running" && p != nil
        }, "no progress while running; worker: \(worker.output.suffix(1500))")
        #expect(running?["done"] as? Int == 1 && running?["total"] as? Int == 3 && running?["message"] as? String == "step one")
        #expect(running?["at"] is String)

        // The CLI's live line, from a real `jobgate status --wait` (not a terminal: a line per change).
        let wait = try TestProcess([try JobGateBinary.path(), "status", id, "--wait"],
                                   environment: ["JOBGATE_URL": f.server.url, "JOBGATE_TOKEN": secret, "JOBGATE_LOG_LEVEL": "error"])
        defer { wait.signal(SIGKILL) }
        #expect(await eventually(timeout: .seconds(20)) { wait.output.contains("running 1/3 (33%) step one\n") }, "\(wait.output)")

        FileManager.default.createFile(atPath: gate, contents: nil)
        #expect(await wait.wait(timeout: .seconds(60)) == 0, "\(wait.output)")
        let (status, last) = try await progress()
        #expect(status == "completed")
        #expect(last?["done"] as? Int == 3 && last?["total"] as? Int == 3)
        // Cut to 200 characters.
        #expect(last?["message"] as? String == String(repeating: "m", count: ProgressReport.messageLimit))
        #expect(wait.output.contains("completed 3/3 (100%) mmm"), "\(wait.output)")
        // The Swift client decodes it.
        let snapshot = try await JobGateClient(baseURL: f.server.url, token: secret).status(try #require(UUID(uuidString: id)))
        #expect(snapshot.progress?.done == 3 && snapshot.progress?.total == 3 && snapshot.progress?.message?.count == 200)
        #expect(wait.output.contains("\"status\":\"completed\""), "\(wait.output)")
        worker.signal(SIGTERM)
        #expect(await worker.wait() == 0, "\(worker.output.suffix(2000))")
    }
}
