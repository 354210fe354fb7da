import JobGatePostgres
import JobGatePrometheus
import Synchronization

/// JobGate's metrics, declared in one place so names, labels and buckets agree
/// across the API, the workers, `deploy/` alert rules and the Grafana dashboard.
///
/// Everything records into `registry` (`Metrics.default` for `shared`). Hot paths
/// should keep the child (`jobsCompleted.labels(type, queue)`) rather than look it
/// up per event; `JobMetrics` does that per (type, queue).
public final class JobGateMetrics: Sendable {
    /// The metrics of this process, in `Metrics.default`.
    public static let shared = JobGateMetrics(registry: Metrics.default)

    /// The registry these metrics live in.
    public let registry: MetricsRegistry

    /// `jobgate_http_requests_total{route,method,code}`: requests answered, by route template.
    public let httpRequests: CounterFamily
    /// `jobgate_http_request_duration_seconds{route,method,code}`: time from request read to response ready.
    public let httpRequestDuration: HistogramFamily

    /// `jobgate_jobs_submitted_total{type,queue}`: jobs accepted (idempotent replays not counted).
    public let jobsSubmitted: CounterFamily
    /// `jobgate_jobs_started_total{type,queue}`: attempts claimed by a worker.
    public let jobsStarted: CounterFamily
    /// `jobgate_jobs_completed_total{type,queue}`: attempts recorded as completed.
    public let jobsCompleted: CounterFamily
    /// `jobgate_jobs_failed_total{type,queue}`: jobs that ended `failed` (attempts used up or not retryable).
    public let jobsFailed: CounterFamily
    /// `jobgate_jobs_retried_total{type,queue}`: failed attempts scheduled for a retry.
    public let jobsRetried: CounterFamily
    /// `jobgate_jobs_rescued_total{type,queue}`: running jobs whose lease expired, taken back by the rescuer.
    public let jobsRescued: CounterFamily
    /// `jobgate_jobs_cancelled_total{type,queue}`: running attempts stopped by a cancel request.
    public let jobsCancelled: CounterFamily
    /// `jobgate_job_run_duration_seconds{type,queue}`: handler run time of each finished attempt.
    public let jobRunDuration: HistogramFamily
    /// `jobgate_job_queue_wait_seconds{type,queue}`: time from claimable (`run_at`) to claimed.
    public let jobQueueWait: HistogramFamily

    /// `jobgate_schedule_firings_total{outcome}`: cron slots this process fired, `job` when the
    /// slot made its job, `no_job` when it could not (the reason is logged with the schedule).
    /// Not by schedule: schedule names are tenants' own, an unbounded label set.
    public let scheduleFirings: CounterFamily

    /// `jobgate_worker_slots_busy`: handler slots running a job in this process.
    public let workerSlotsBusy: GaugeFamily
    /// `jobgate_worker_slots`: handler slots (concurrency) in this process.
    public let workerSlots: GaugeFamily
    /// `jobgate_build_info{version}`: always 1; carries the version as a label.
    public let buildInfo: GaugeFamily

    private let kinds = Mutex<[JobKindKey: JobKindMetrics]>([:])
    private let requests = Mutex<[RequestKey: RequestMetrics]>([:])

    /// Declares JobGate's metrics in `registry` (tests use a fresh one).
    public init(registry: MetricsRegistry) {
        self.registry = registry
        httpRequests = registry.counter(
            "jobgate_http_requests_total", help: "HTTP requests answered, by route template, method and status code.",
            labels: ["route", "method", "code"])
        httpRequestDuration = registry.histogram(
            "jobgate_http_request_duration_seconds", help: "HTTP request handling time in seconds, by route template, method and status code.",
            labels: ["route", "method", "code"], buckets: .latency)
        let tq = ["type", "queue"]
        jobsSubmitted = registry.counter("jobgate_jobs_submitted_total", help: "Jobs submitted, by type and queue.", labels: tq)
        jobsStarted = registry.counter("jobgate_jobs_started_total", help: "Job attempts started by a worker, by type and queue.", labels: tq)
        jobsCompleted = registry.counter("jobgate_jobs_completed_total", help: "Jobs completed, by type and queue.", labels: tq)
        jobsFailed = registry.counter(
            "jobgate_jobs_failed_total", help: "Jobs failed for good (attempts used up or not retryable), by type and queue.", labels: tq)
        jobsRetried = registry.counter(
            "jobgate_jobs_retried_total", help: "Failed attempts scheduled for a retry, by type and queue.", labels: tq)
        jobsRescued = registry.counter(
            "jobgate_jobs_rescued_total", help: "Running jobs whose lease expired, rescued by a worker, by type and queue.", labels: tq)
        jobsCancelled = registry.counter(
            "jobgate_jobs_cancelled_total", help: "Running jobs stopped by a cancel request, by type and queue.", labels: tq)
        jobRunDuration = registry.histogram(
            "jobgate_job_run_duration_seconds", help: "Run time of finished job attempts in seconds, by type and queue.",
            labels: tq, buckets: .jobDuration)
        jobQueueWait = registry.histogram(
            "jobgate_job_queue_wait_seconds", help: "Time from a job becoming runnable to a worker claiming it, in seconds.",
            labels: tq, buckets: .jobDuration)
        scheduleFirings = registry.counter(
            "jobgate_schedule_firings_total", help: "Cron schedule slots fired by this process, by outcome (job or no_job).", labels: ["outcome"])
        workerSlotsBusy = registry.gauge("jobgate_worker_slots_busy", help: "Worker handler slots running a job in this process.")
        workerSlots = registry.gauge("jobgate_worker_slots", help: "Worker handler slots (concurrency) in this process.")
        buildInfo = registry.gauge("jobgate_build_info", help: "Build information; the value is always 1.", labels: ["version"])
    }

    /// Every per-job child for one (type, queue), looked up once and cached: the worker's
    /// hot path does one dictionary lookup per job, then only atomic increments.
    public func job(type: String, queue: String) -> JobKindMetrics {
        let key = JobKindKey(type: type, queue: queue)
        if let m = kinds.withLock({ $0[key] }) { return m }
        let m = JobKindMetrics(
            submitted: jobsSubmitted.labels(type, queue), started: jobsStarted.labels(type, queue),
            completed: jobsCompleted.labels(type, queue), failed: jobsFailed.labels(type, queue),
            retried: jobsRetried.labels(type, queue), rescued: jobsRescued.labels(type, queue),
            cancelled: jobsCancelled.labels(type, queue), runDuration: jobRunDuration.labels(type, queue),
            queueWait: jobQueueWait.labels(type, queue))
        return kinds.withLock { $0[key, default: m] }
    }

    /// Both per-request children for one (route template, method, status), looked up once and
    /// cached as `job(type:queue:)` does: one dictionary lookup per request.
    public func request(route: String, method: String, status: Int) -> RequestMetrics {
        let key = RequestKey(route: route, method: method, status: status)
        if let m = requests.withLock({ $0[key] }) { return m }
        let code = String(status)
        let m = RequestMetrics(count: httpRequests.labels(route, method, code), duration: httpRequestDuration.labels(route, method, code))
        return requests.withLock { $0[key, default: m] }
    }

    /// Sets `jobgate_build_info{version}` to 1.
    public func setBuildInfo(version: String) {
        buildInfo.labels(version).set(1)
    }

    /// `jobgate_db_pool_connections{state="in_use|idle|waiting"}` from `pool.statistics` at scrape time.
    /// Call once per registry; a second pool would need its own registry.
    public func observe(pool: PostgresPool) {
        registry.computedGauge(
            "jobgate_db_pool_connections",
            help: "Database pool connections in use and idle, and requests waiting for one.",
            labels: ["state"]
        ) { [weak pool] in
            guard let s = pool?.statistics else { return [] }
            return [
                MetricSample(labels: ["idle"], value: Double(max(s.size - s.inUse, 0))),
                MetricSample(labels: ["in_use"], value: Double(s.inUse)),
                MetricSample(labels: ["waiting"], value: Double(s.waiting)),
            ]
        }
    }

    /// `jobgate_queue_depth{queue}` and `jobgate_queue_oldest_age_seconds{queue}`, from
    /// `QueueStatsCollector` (one bounded query, cached for `maxAge`), refreshed when scraped.
    /// Call once per registry.
    @discardableResult
    public func observeQueues(store: JobStore, maxAge: Duration = .seconds(5), depthCap: Int = QueueStatsCollector.defaultDepthCap)
        -> QueueStatsCollector
    {
        let collector = QueueStatsCollector(store: store, maxAge: maxAge, depthCap: depthCap)
        registry.onScrape { await collector.refreshIfStale() }
        registry.computedGauge(
            "jobgate_queue_depth",
            help: "Jobs ready to run (queued or retrying, run_at reached) by queue; capped at \(depthCap) per queue.",
            labels: ["queue"]
        ) {
            collector.cached.map { MetricSample(labels: [$0.queue], value: Double($0.ready)) }
        }
        registry.computedGauge(
            "jobgate_queue_oldest_age_seconds",
            help: "Seconds the oldest ready job of each queue has been waiting since its run_at; 0 when none.",
            labels: ["queue"]
        ) {
            collector.cached.map { MetricSample(labels: [$0.queue], value: $0.oldestAgeSeconds) }
        }
        registry.computedGauge(
            "jobgate_queue_paused",
            help: "1 while a queue is paused (its jobs are not claimed), 0 once resumed; queues never paused or capped are absent.",
            labels: ["queue"]
        ) {
            collector.cachedControls.map { MetricSample(labels: [$0.name], value: $0.paused ? 1 : 0) }
        }
        registry.computedGauge(
            "jobgate_queue_concurrency_cap",
            help: "The most jobs of a queue that may run at once across all workers; absent for queues without a cap.",
            labels: ["queue"]
        ) {
            collector.cachedControls.compactMap { c in c.concurrencyCap.map { MetricSample(labels: [c.name], value: Double($0)) } }
        }
        registry.computedGauge(
            "jobgate_queue_running",
            help: "Jobs of a paused or capped queue running now on every worker (beside its cap); other queues are absent.",
            labels: ["queue"]
        ) {
            collector.cachedControls.map { MetricSample(labels: [$0.name], value: Double($0.running)) }
        }
        return collector
    }
}

private struct JobKindKey: Hashable, Sendable {
    let type: String
    let queue: String
}

private struct RequestKey: Hashable, Sendable {
    let route: String
    let method: String
    let status: Int
}

/// The children of the HTTP request metrics for one (route, method, status); see `JobGateMetrics.request(route:method:status:)`.
public final class RequestMetrics: Sendable {
    /// `jobgate_http_requests_total{route,method,code}`.
    public let count: Counter
    /// `jobgate_http_request_duration_seconds{route,method,code}`.
    public let duration: Histogram

    init(count: Counter, duration: Histogram) {
        self.count = count
        self.duration = duration
    }
}

/// The children of JobGate's per-job metrics for one (type, queue); see `JobGateMetrics.job(type:queue:)`.
/// A class, so handing it around per job costs one reference count, not one per child.
public final class JobKindMetrics: Sendable {
    /// `jobgate_jobs_submitted_total{type,queue}`.
    public let submitted: Counter
    /// `jobgate_jobs_started_total{type,queue}`.
    public let started: Counter
    /// `jobgate_jobs_completed_total{type,queue}`.
    public let completed: Counter
    /// `jobgate_jobs_failed_total{type,queue}`.
    public let failed: Counter
    /// `jobgate_jobs_retried_total{type,queue}`.
    public let retried: Counter
    /// `jobgate_jobs_rescued_total{type,queue}`.
    public let rescued: Counter
    /// `jobgate_jobs_cancelled_total{type,queue}`.
    public let cancelled: Counter
    /// `jobgate_job_run_duration_seconds{type,queue}`.
    public let runDuration: Histogram
    /// `jobgate_job_queue_wait_seconds{type,queue}`.
    public let queueWait: Histogram

    init(submitted: Counter, started: Counter, completed: Counter, failed: Counter, retried: Counter, rescued: Counter,
         cancelled: Counter, runDuration: Histogram, queueWait: Histogram) {
        self.submitted = submitted
        self.started = started
        self.completed = completed
        self.failed = failed
        self.retried = retried
        self.rescued = rescued
        self.cancelled = cancelled
        self.runDuration = runDuration
        self.queueWait = queueWait
    }
}
