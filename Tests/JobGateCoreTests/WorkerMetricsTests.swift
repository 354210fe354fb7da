import Foundation
@testable import JobGateApp
import JobGateCore
import JobGatePostgres
import JobGatePrometheus
import JobGateSystem
import JobGateTestSupport
@testable import JobGateWorker
import Testing

/// Counters, histograms and gauges move when jobs run through a real WorkerPool, and the
/// worker's metrics endpoint serves them.
@Suite(.serialized) struct WorkerMetricsTests {
    @Test func countersMoveWhenJobsRunThroughAWorkerPool() async throws {
        let f = try await EngineFixture.make("wmetrics")
        defer { f.pool.shutdown() }
        let metrics = JobGateMetrics(registry: MetricsRegistry())
        var registry = HandlerRegistry.builtIn()
        registry.register("flaky", settings: JobTypeSettings(retry: RetryPolicy(baseSeconds: 0.05, capSeconds: 0.1)),
                          handler: ClosureHandler { _ in throw JobFailure("broke") })
        registry.register("fatal", handler: ClosureHandler { _ in throw JobFailure("bad payload", retryable: false) })

        _ = try await f.store.submit((0..<7).map { _ in NewJob(tenant: "t", type: "noop", queue: "q1") })
        try await f.pool.query("UPDATE jobgate.jobs SET run_at = now() - interval '30 seconds'") // waited ~30 s in the queue
        _ = try await f.store.submit([NewJob(tenant: "t", type: "flaky", queue: "q2", maxAttempts: 3)])
        _ = try await f.store.submit([NewJob(tenant: "t", type: "fatal", queue: "q2", maxAttempts: 3)])
        let slow = try await f.store.submit([NewJob(tenant: "t", type: "weather", queue: "q2", payload: #"{"durationSeconds": 60}"#)])[0].jobID
        // A dead worker's job, rescued by ours after its lease.
        _ = try await f.store.submit([NewJob(tenant: "t", type: "noop", queue: "q3")])
        let deadPool = f.newPool(maxConnections: 1)
        #expect(try await JobStore(pool: deadPool).claim(queues: ["q3"], limit: 1, worker: "dead:1:x", leaseSeconds: 0.5).count == 1)
        deadPool.shutdown()

        // A lease long enough that a loaded CI machine cannot let the slow job's lease expire
        // (its rescue would end the run this test counts as busy); heartbeats every 4 s.
        let w = f.worker({
            $0.pollInterval = .milliseconds(50); $0.metrics = metrics; $0.concurrency = 4; $0.leaseSeconds = 12
        }, registry: registry)
        let task = Task { try await w.run() }
        defer { task.cancel() } // an early return must not leave the worker running on a closed pool
        // Bounds for a starved disk, not for speed: this test counts, it does not time.
        #expect(try await eventually(timeout: .seconds(40)) { try await f.status(slow) == .running })
        #expect(try await eventually(timeout: .seconds(40)) {
            try await f.count("SELECT count(*) FROM jobgate.jobs WHERE status IN ('completed', 'failed')") == 10
        })
        #expect(metrics.workerSlots.labels().value == 4)
        #expect(metrics.workerSlotsBusy.labels().value == 1, "the slow job holds one slot")
        let asked = try await f.store.cancel(id: slow, tenant: "t")
        guard case .cancelRequested = asked else { Issue.record("not requested: \(asked)"); return }
        #expect(try await eventually(timeout: .seconds(20)) { try await f.status(slow) == .cancelled })
        // Outcomes are counted after the completer's write lands.
        #expect(try await eventually { metrics.jobsCancelled.labels("weather", "q2").value == 1 })
        task.cancel()
        try await task.value

        let noop = metrics.job(type: "noop", queue: "q1")
        #expect(noop.started.value == 7)
        #expect(noop.completed.value == 7)
        #expect(noop.runDuration.count == 7)
        #expect(noop.queueWait.count == 7)
        // Each waited its 30 s in the queue and then until the worker claimed it (seconds, or
        // more on a starved CI machine).
        #expect(noop.queueWait.sum >= 7 * 30 && noop.queueWait.sum < 7 * 300, "\(noop.queueWait.sum)")
        let flaky = metrics.job(type: "flaky", queue: "q2")
        #expect(flaky.started.value == 3)
        #expect(flaky.retried.value == 2)
        #expect(flaky.failed.value == 1)
        #expect(flaky.completed.value == 0)
        let fatal = metrics.job(type: "fatal", queue: "q2")
        #expect(fatal.failed.value == 1 && fatal.retried.value == 0)
        let rescued = metrics.job(type: "noop", queue: "q3")
        #expect(rescued.rescued.value == 1)
        #expect(rescued.started.value == 1 && rescued.completed.value == 1, "only our worker's start is counted here")
        #expect(metrics.job(type: "weather", queue: "q2").runDuration.count == 1)
        #expect(metrics.workerSlotsBusy.labels().value == 0)
        #expect(metrics.workerSlots.labels().value == 0, "slots are withdrawn when the pool stops")

        let text = metrics.registry.render()
        #expect(text.contains("jobgate_jobs_completed_total{type=\"noop\",queue=\"q1\"} 7\n"))
        #expect(text.contains("jobgate_jobs_retried_total{type=\"flaky\",queue=\"q2\"} 2\n"))
        #expect(text.contains("jobgate_job_queue_wait_seconds_bucket{type=\"noop\",queue=\"q1\",le=\"10\"} 0\n"))
        #expect(text.contains("jobgate_job_queue_wait_seconds_bucket{type=\"noop\",queue=\"q1\",le=\"+Inf\"} 7\n"))
    }

    @Test func endpointServesMetricsOverHTTP() async throws {
        let registry = MetricsRegistry()
        let metrics = JobGateMetrics(registry: registry)
        metrics.setBuildInfo(version: "9.9.9")
        metrics.job(type: "noop", queue: "default").completed.inc()
        let endpoint = try MetricsEndpoint.start(address: "127.0.0.1:0", registry: registry)
        let ok = try await curl("http://127.0.0.1:\(endpoint.port)/metrics")
        let missing = try await curl("http://127.0.0.1:\(endpoint.port)/nope")
        let post = try await curl("http://127.0.0.1:\(endpoint.port)/metrics", "-X", "POST")
        await endpoint.stop()
        #expect(ok.hasPrefix("200 text/plain; version=0.0.4; charset=utf-8\n"), "\(ok)")
        #expect(ok.contains("jobgate_build_info{version=\"9.9.9\"} 1\n"))
        #expect(ok.contains("jobgate_jobs_completed_total{type=\"noop\",queue=\"default\"} 1\n"))
        #expect(missing.hasPrefix("404 "))
        #expect(post.hasPrefix("405 "))
    }

    @Test func metricsAddressesParse() throws {
        #expect(try MetricsEndpoint.parse(address: "127.0.0.1:9100") == ("127.0.0.1", 9100))
        #expect(try MetricsEndpoint.parse(address: "[::1]:9100") == ("::1", 9100))
        #expect(try MetricsEndpoint.parse(address: ":9100") == ("0.0.0.0", 9100))
        #expect(throws: MetricsEndpoint.AddressError.self) { try MetricsEndpoint.parse(address: "localhost") }
        #expect(throws: MetricsEndpoint.AddressError.self) { try MetricsEndpoint.parse(address: "1.2.3.4:http") }
    }
}

/// Fetches a URL with the curl CLI on its own thread: "STATUS CONTENT-TYPE\nBODY".
/// (posix_spawn through `Subprocess`: Foundation's Process was seen to hang on reaped children.)
func curl(_ url: String, _ extra: String...) async throws -> String {
    let argv = ["/usr/bin/curl", "-s", "-o", "-", "-w", "\n@@%{http_code} %{content_type}"] + extra + [url]
    return try await onOwnThread {
        let text = try Spawn.run(argv).output
        guard let mark = text.range(of: "\n@@", options: .backwards) else { return text }
        return String(text[mark.upperBound...]) + "\n" + String(text[..<mark.lowerBound])
    }
}
