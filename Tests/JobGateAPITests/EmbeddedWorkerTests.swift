import Foundation
import JobGateClient
import JobGateCore
import JobGatePostgres
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Synchronization
import Testing

/// `EmbeddedWorker` as a host service uses it: typed Swift handlers, jobs submitted through
/// the typed client to a real API, and a graceful stop when the host cancels its task.
@Suite struct EmbeddedWorkerTests {
    struct Greeting: Codable, Sendable {
        var name: String
        var pauseMilliseconds: Int?
    }

    struct Reply: Codable, Sendable, Equatable {
        var text: String
        var attempt: Int
    }

    @Test func runsTypedHandlersAndDrainsOnCancel() async throws {
        let f = try await APIFixture.make("embedded")
        defer { Task { await f.stop() } }
        let client = try JobGateClient(baseURL: f.server.url, token: try await f.token())

        let started = Mutex(0)
        var handlers = HandlerRegistry()
        handlers.register("greet", settings: JobTypeSettings(timeoutSeconds: 30, maxAttempts: 2, queue: "embedded")) {
            (greeting: Greeting, job: JobContext) -> Reply in
            started.withLock { $0 += 1 }
            if let pause = greeting.pauseMilliseconds { try await Task.sleep(for: .milliseconds(pause)) }
            return Reply(text: "hello, \(greeting.name)", attempt: job.attempt)
        }
        var c = EmbeddedWorker.Configuration(databaseURL: f.db.url)
        c.maxConnections = 4
        c.pool.concurrency = 2
        c.pool.pollInterval = .milliseconds(100)
        c.pool.tickInterval = .milliseconds(50)
        c.pool.gracePeriod = .seconds(10)
        c.pool.outputDirectory = f.outputDirectory
        c.pool.log = .silent
        let worker = EmbeddedWorker(configuration: c, handlers: handlers)
        #expect(worker.queues == ["embedded"])

        // Once started, the API accepts the new type (its catalog reloads on the NOTIFY).
        try await worker.start()
        #expect(try await f.count("SELECT count(*) FROM jobgate.job_types WHERE name = 'greet' AND queue = 'embedded' AND max_attempts = 2") == 1)
        let accepted = await eventually(timeout: .seconds(15)) {
            (try? await client.submit(type: "greet", payload: Greeting(name: "Ada"))) != nil
        }
        #expect(accepted)
        let running = Task { try await worker.run() }
        defer { running.cancel() }

        let first = try #require(try await client.list(type: "greet").jobs.first)
        let done = try await client.waitForCompletion(first.id, timeout: .seconds(30))
        #expect(done.status == .completed && done.queue == "embedded")
        #expect(try await client.output(of: done, as: Reply.self) == Reply(text: "hello, Ada", attempt: 1))

        // A payload that does not decode fails at once, whatever attempts remain.
        let bad = try await client.submit(type: "greet", payloadJSON: #"{"nom": "Ada"}"#)
        let failed = try await client.waitForCompletion(bad.id, timeout: .seconds(30))
        #expect(failed.status == .failed && failed.attempt == 1)
        #expect(failed.lastError?.contains("the payload is not a Greeting") == true, "\(failed.lastError ?? "")")

        // Cancelling the host's task stops claiming and lets the running job finish.
        let slow = try await client.submit(type: "greet", payload: Greeting(name: "Grace", pauseMilliseconds: 1500))
        let claimed = try await eventually(timeout: .seconds(15)) { try await client.status(slow.id).status == .running }
        #expect(claimed)
        running.cancel()
        try await running.value
        let drained = try await client.status(slow.id)
        #expect(drained.status == .completed, "\(drained)")
        #expect(try await f.count("SELECT count(*) FROM jobgate.workers WHERE id = $1 AND stopped_at IS NOT NULL", [worker.workerID]) == 1)
        // The undecodable payload never reached the closure.
        #expect(worker.statistics.completed == 2 && started.withLock { $0 } == 2)
    }

    @Test func shutdownBeforeRunReturnsAtOnce() async throws {
        let db = try await TestDatabase.create("embeddedstop")
        var handlers = HandlerRegistry()
        handlers.register("echo") { job in .text(job.payload) }
        let worker = EmbeddedWorker(databaseURL: db.url, concurrency: 1, handlers: handlers)
        #expect(worker.queues == ["default"])
        worker.shutdown()
        // Migrates, writes its type, stops without claiming.
        try await worker.run()
        let pool = PostgresPool(configuration: Database.configuration(url: db.url, maxConnections: 1))
        defer { pool.shutdown() }
        #expect(try await pool.query("SELECT count(*) FROM jobgate.job_types WHERE name = 'echo'").first?.decode(0, as: Int.self) == 1)
    }
}
