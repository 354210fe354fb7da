import JobGateSystem
import Synchronization

/// Caches `JobStore.queueStats` for the `jobgate_queue_*` gauges, so scrapes from
/// several Prometheus servers (or a tight scrape interval) cost one query per `maxAge`.
///
/// A queue seen once keeps being reported (as 0 once empty), so its series drops to
/// zero instead of vanishing and freezing at its last value in dashboards.
public final class QueueStatsCollector: Sendable {
    /// Default per-queue depth cap: enough to tell "busy" from "drowning" while bounding the scan.
    public static let defaultDepthCap = 10_000

    private struct State {
        var stats: [QueueStats] = []
        var controls: [QueueControl] = []
        var known: Set<String> = []
        var refreshedAt: ContinuousClock.Instant?
        var refreshing = false
    }

    private let store: JobStore
    private let maxAge: Duration
    private let depthCap: Int
    private let state = Mutex(State())

    /// A collector over `store`; results are reused for `maxAge`.
    public init(store: JobStore, maxAge: Duration = .seconds(5), depthCap: Int = QueueStatsCollector.defaultDepthCap) {
        self.store = store
        self.maxAge = maxAge
        self.depthCap = depthCap
    }

    /// The last result (empty before the first refresh).
    public var cached: [QueueStats] { state.withLock { $0.stats } }

    /// The queue controls (paused, capped) as last read.
    public var cachedControls: [QueueControl] { state.withLock { $0.controls } }

    /// Refreshes unless the cached result is younger than `maxAge` or a refresh is already
    /// running (then the caller uses the cached one). A failed query keeps the old result.
    public func refreshIfStale() async {
        let now = ContinuousClock.now
        let go = state.withLock { s -> Bool in
            if s.refreshing { return false }
            if let at = s.refreshedAt, now - at < maxAge { return false }
            s.refreshing = true
            return true
        }
        guard go else { return }
        do {
            let fresh = try await store.queueStats(depthCap: depthCap)
            let controls = try await store.queueControls()
            state.withLock { s in
                s.controls = controls
                let seen = Set(fresh.map(\.queue))
                s.known.formUnion(seen)
                s.stats = (fresh + s.known.subtracting(seen).map { QueueStats(queue: $0, ready: 0, oldestAgeSeconds: 0) })
                    .sorted { $0.queue < $1.queue }
                s.refreshedAt = ContinuousClock.now
                s.refreshing = false
            }
        } catch {
            Log.warn("queue metrics query failed", ["error": String(describing: error)])
            state.withLock { s in
                s.refreshing = false
                s.refreshedAt = ContinuousClock.now // don't hammer a struggling database on every scrape
            }
        }
    }
}
