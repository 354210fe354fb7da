import JobGatePrometheus
import JobGateSystem
import Synchronization

/// Backs `jobgate_db_up` and `jobgate_workers_live` (probing the live-worker count), and
/// `jobgate_db_replica_up` and `jobgate_db_replica_lag_seconds` (probing a read replica's lag):
/// one small query, cached for `maxAge`. The query succeeding *is* the database check, so a
/// scrape costs at most one round trip per `maxAge`, shared by every scraper.
///
/// A scrape never waits longer than `timeout` for it: an unreachable server (connect hanging,
/// pool exhausted) shows up as `jobgate_db_up 0` on time instead of a scrape timeout, which
/// would hide every other metric too.
public final class DatabaseHealthCollector: Sendable {
    /// The last check's result.
    public struct Snapshot: Sendable, Equatable {
        /// Whether the last check reached the database within the timeout.
        public var up: Bool
        /// The probe's value at the last successful check (kept through a failed one).
        public var value: Double
        /// The value as a count.
        public var liveWorkers: Int { Int(value) }
    }

    private struct State {
        var snapshot = Snapshot(up: false, value: 0)
        var checkedAt: ContinuousClock.Instant?
        var checking = false
        var checked = false
    }

    private let probe: @Sendable () async throws -> Double
    private let maxAge: Duration
    private let timeout: Duration
    private let state = Mutex(State())

    /// A collector; a worker counts as live when its heartbeat is at most `liveWithin` seconds old
    /// (default 60: twice the default lease, as workers beat every lease/3).
    public convenience init(store: JobStore, liveWithin: Double = 60, maxAge: Duration = .seconds(5), timeout: Duration = .seconds(2)) {
        self.init(maxAge: maxAge, timeout: timeout) { Double(try await store.liveWorkerCount(within: liveWithin)) }
    }

    /// A collector whose check is `probe` (its value is kept in the snapshot).
    public init(maxAge: Duration = .seconds(5), timeout: Duration = .seconds(2), probe: @escaping @Sendable () async throws -> Double) {
        self.probe = probe
        self.maxAge = maxAge
        self.timeout = timeout
    }

    /// The last result; `up` is false before the first check.
    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// Whether a check has finished (or timed out) at least once.
    public var hasChecked: Bool { state.withLock { $0.checked } }

    /// Checks unless the last result is younger than `maxAge` or a check is running; waits for
    /// it at most `timeout`, then reports the database down and lets the check finish alone.
    public func refreshIfStale() async {
        let now = ContinuousClock.now
        let go = state.withLock { s -> Bool in
            if s.checking { return false }
            if let at = s.checkedAt, now - at < maxAge { return false }
            s.checking = true
            return true
        }
        guard go else { return }
        let once = ResumeOnce()
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            once.set(c)
            Task { [self] in
                let value: Double?
                do { value = try await probe() } catch {
                    Log.warn("database health check failed", ["error": String(describing: error)])
                    value = nil
                }
                state.withLock { s in
                    s.snapshot.up = value != nil
                    if let value { s.snapshot.value = value }
                    s.checkedAt = ContinuousClock.now
                    s.checking = false
                    s.checked = true
                }
                once.resume()
            }
            Task { [self] in
                try? await Task.sleep(for: timeout)
                if once.resume() {
                    Log.warn("database health check timed out", ["timeout_seconds": timeout.seconds])
                    state.withLock { s in
                        s.snapshot.up = false
                        s.checked = true
                    }
                }
            }
        }
    }
}

/// A continuation resumed by whichever of two tasks comes first.
private final class ResumeOnce: Sendable {
    private let continuation = Mutex<CheckedContinuation<Void, Never>?>(nil)

    func set(_ c: CheckedContinuation<Void, Never>) { continuation.withLock { $0 = c } }

    /// Resumes if nobody did yet; true when this call resumed it.
    @discardableResult
    func resume() -> Bool {
        guard let c = continuation.withLock({ s -> CheckedContinuation<Void, Never>? in
            defer { s = nil }
            return s
        }) else { return false }
        c.resume()
        return true
    }
}

extension JobGateMetrics {
    /// `jobgate_db_up` (1 when the last check reached the database, else 0) and
    /// `jobgate_workers_live` (workers with a heartbeat within `liveWithin` seconds, across all
    /// hosts, from the `workers` table), both from one `DatabaseHealthCollector` refreshed when
    /// scraped. Call once per registry. The count is global, so alert on `max()` over instances.
    @discardableResult
    public func observeDatabase(store: JobStore, liveWithin: Double = 60, maxAge: Duration = .seconds(5),
                                timeout: Duration = .seconds(2)) -> DatabaseHealthCollector {
        let collector = DatabaseHealthCollector(store: store, liveWithin: liveWithin, maxAge: maxAge, timeout: timeout)
        registry.onScrape { await collector.refreshIfStale() }
        registry.computedGauge(
            "jobgate_db_up",
            help: "1 when the last database check (cached a few seconds) succeeded within its timeout, else 0."
        ) {
            [MetricSample(value: collector.snapshot.up ? 1 : 0)]
        }
        registry.computedGauge(
            "jobgate_workers_live",
            help: "Workers (all hosts) not stopped and with a heartbeat within \(Int(liveWithin)) s, from the workers table."
        ) {
            // Unknown while the database is down: report nothing rather than a stale count.
            let s = collector.snapshot
            return s.up ? [MetricSample(value: Double(s.liveWorkers))] : []
        }
        return collector
    }
}

extension JobGateMetrics {
    /// `jobgate_db_replica_up` and `jobgate_db_replica_lag_seconds` (how far the read replica's
    /// replay is behind: now minus the last replayed commit's time, 0 when it has replayed all it
    /// received) for the replica that `store` reads, refreshed when scraped. Call once per registry.
    @discardableResult
    public func observeReplica(store: JobStore, maxAge: Duration = .seconds(5), timeout: Duration = .seconds(2)) -> DatabaseHealthCollector {
        let collector = DatabaseHealthCollector(maxAge: maxAge, timeout: timeout) { try await store.replicaLagSeconds() }
        registry.onScrape { await collector.refreshIfStale() }
        registry.computedGauge("jobgate_db_replica_up", help: "1 when the last check (cached a few seconds) reached the read replica within its timeout, else 0.") {
            [MetricSample(value: collector.snapshot.up ? 1 : 0)]
        }
        registry.computedGauge("jobgate_db_replica_lag_seconds",
                               help: "Seconds the read replica's replay is behind its primary (0 when it has replayed all it received); absent while it is unreachable.") {
            let s = collector.snapshot
            return s.up ? [MetricSample(value: s.value)] : []
        }
        return collector
    }
}
