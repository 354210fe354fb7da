import Foundation
import JobGateClient
import JobGateCore
import JobGateSystem
import JobGateTestSupport
import JobGateWorker
import Testing

/// The typed client (`JobGateClient`) against a real API server and database: every call,
/// the answers decoded into its models, and the API's errors as `JobGateClientError`.
@Suite struct JobGateClientTests {
    struct Weather: Decodable {
        struct Observation: Decodable {
            var station: String
            var temperature: Double
        }
        var weatherData: [Observation]
    }

    @Test func submitReplayStatusEventsList() async throws {
        let f = try await APIFixture.make("client")
        defer { Task { await f.stop() } }
        let client = try JobGateClient(baseURL: f.server.url, token: try await f.token())

        let runAt = Date().addingTimeInterval(3600)
        let job = try await client.submit(type: "noop", payload: ["n": 1], queue: "later", priority: 5, runAt: runAt, idempotencyKey: "k1")
        #expect(job.status == .queued)
        #expect(job.statusURL == "/v1/jobs/\(job.id.lowercasedString)")
        // A replay answers the same job; the same key for another request is the API's 409.
        let replay = try await client.submit(type: "noop", payload: ["n": 1], queue: "later", priority: 5, runAt: runAt, idempotencyKey: "k1")
        #expect(replay.id == job.id)
        let conflict = await #expect(throws: JobGateClientError.self) {
            try await client.submit(type: "noop", payload: ["n": 2], idempotencyKey: "k1")
        }
        #expect(conflict?.kind == .api && conflict?.status == 409 && conflict?.code == "idempotency_conflict")
        #expect(conflict?.field == "idempotencyKey" && conflict?.requestID != nil)

        let status = try await client.status(job.id)
        #expect(status.id == job.id && status.type == "noop" && status.queue == "later" && status.status == .queued)
        #expect(status.priority == 5 && status.attempt == 0 && status.maxAttempts == 3)
        // The API keeps milliseconds.
        #expect(abs(status.runAt.timeIntervalSince(runAt)) < 0.002)
        #expect(status.createdAt <= Date() && status.startedAt == nil && status.finishedAt == nil && status.lastError == nil)
        #expect(status.output == nil)

        let events = try await client.events(job.id)
        #expect(events.map(\.event) == ["submitted"])
        #expect(events[0].fromStatus == nil && events[0].toStatus == .queued && events[0].attempt == 0)

        let raw = try await client.submit(type: "noop", payloadJSON: #"{"big": 12345678901234567890123}"#, queue: "later")
        let page = try await client.list(status: .queued, type: "noop", queue: "later", limit: 1)
        #expect(page.jobs.map(\.id) == [raw.id] && page.next == raw.id.lowercasedString)
        let rest = try await client.list(queue: "later", limit: 5, after: page.next)
        #expect(rest.jobs.map(\.id) == [job.id] && rest.next == nil)
        // The raw payload reached the database as sent (beyond a Double's precision).
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs WHERE payload->>'big' = '12345678901234567890123'") == 1)
    }

    @Test func batchCancelRetryAndErrors() async throws {
        let f = try await APIFixture.make("clientb")
        defer { Task { await f.stop() } }
        let client = try JobGateClient(baseURL: f.server.url, token: try await f.token())

        let jobs = try await client.submitBatch([
            try JobSubmission(type: "noop", payload: ["i": 0], delaySeconds: 3600),
            try JobSubmission(type: "noop", payloadJSON: "[1,2]", delaySeconds: 3600, maxAttempts: 7, timeoutSeconds: 9),
        ])
        #expect(jobs.count == 2 && jobs.allSatisfy { $0.status == .queued && $0.statusURL == nil })
        let second = try await client.status(jobs[1].id)
        #expect(second.maxAttempts == 7)
        // All or nothing, and the bad element named.
        let refused = await #expect(throws: JobGateClientError.self) {
            try await client.submitBatch([try JobSubmission(type: "noop"), try JobSubmission(type: "no_such_type")])
        }
        #expect(refused?.status == 400 && refused?.code == "unknown_job_type" && refused?.field == "jobs[1].type")
        #expect(try await f.count("SELECT count(*) FROM jobgate.jobs") == 2)

        let cancelled = try await client.cancel(jobs[0].id)
        #expect(cancelled.status == .cancelled && cancelled.finishedAt != nil)
        let again = await #expect(throws: JobGateClientError.self) { try await client.cancel(jobs[0].id) }
        #expect(again?.status == 409 && again?.code == "job_finished")
        let retried = try await client.retry(jobs[0].id)
        #expect(retried.status == .queued)
        let notRetryable = await #expect(throws: JobGateClientError.self) { try await client.retry(jobs[1].id) }
        #expect(notRetryable?.status == 409 && notRetryable?.code == "job_not_retryable")
        #expect(try await client.events(jobs[0].id).map(\.event) == ["submitted", "cancelled", "redriven"])

        let missing = await #expect(throws: JobGateClientError.self) { try await client.status(UUID()) }
        #expect(missing?.kind == .api && missing?.status == 404 && missing?.code == "not_found")
        // Refused before anything is sent.
        let notJSON = #expect(throws: JobGateClientError.self) { try JobSubmission(type: "noop", payloadJSON: "{nope") }
        #expect(notJSON?.kind == .invalidRequest && notJSON?.field == "payload")

        let stranger = try JobGateClient(baseURL: f.server.url, token: "jg_not_a_token")
        let unauthorized = await #expect(throws: JobGateClientError.self) { try await stranger.status(jobs[1].id) }
        #expect(unauthorized?.status == 401 && unauthorized?.code == "unauthorized" && unauthorized?.isTransient == false)
        let reader = try JobGateClient(baseURL: f.server.url, token: try await f.token(scopes: [.read]))
        let forbidden = await #expect(throws: JobGateClientError.self) { try await reader.cancel(jobs[1].id) }
        #expect(forbidden?.status == 403 && forbidden?.code == "forbidden")

        let nowhere = try JobGateClient(baseURL: "http://127.0.0.1:\(TestPorts.unused())", token: "x")
        let down = await #expect(throws: JobGateClientError.self) { try await nowhere.status(jobs[1].id) }
        #expect(down?.kind == .transport && down?.isTransient == true)
        #expect(throws: JobGateClientError.self) { try JobGateClient(baseURL: "ftp://example.com", token: nil) }
    }

    @Test func waitForCompletionAndOutput() async throws {
        let f = try await APIFixture.make("clientw")
        defer { Task { await f.stop() } }
        let client = try JobGateClient(baseURL: f.server.url, token: try await f.token())

        // Nobody works yet: the wait times out and says where the job stood.
        let job = try await client.submit(type: "weather", payload: ["records": 3])
        let timedOut = await #expect(throws: JobGateClientError.self) {
            try await client.waitForCompletion(job.id, timeout: .seconds(5))
        }
        #expect(timedOut?.kind == .timedOut && timedOut?.job?.status == .queued)

        let worker = f.worker()
        let working = Task { try await worker.run() }
        defer { working.cancel() }
        let done = try await client.waitForCompletion(job.id, timeout: .seconds(30))
        #expect(done.status == .completed && done.attempt == 1 && done.finishedAt != nil)
        let output = try #require(done.output)
        #expect(output.contentType == "application/json" && output.expiresAt > Date() && output.sha256.count == 64)
        let bytes = try await client.output(of: done)
        #expect(bytes.count == output.size)
        let weather = try await client.output(of: done, as: Weather.self)
        #expect(weather.weatherData.count == 3)

        // A job without output cannot be fetched; the client says so without asking.
        let noOutput = try await client.status(try await client.submit(JobSubmission(type: "noop", delaySeconds: 3600)).id)
        let none = await #expect(throws: JobGateClientError.self) { try await client.output(of: noOutput) }
        #expect(none?.kind == .invalidRequest)
        // Cancelling the waiting task ends the wait.
        let waiting = Task { try await client.waitForCompletion(noOutput.id, timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(200))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
    }
}
