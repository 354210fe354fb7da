import JobGateSystem
import Synchronization

// MARK: - Children

/// A monotonically increasing value. Increments are a lock-free atomic update.
public final class Counter: Sendable {
    private let bits = Atomic<UInt64>(0)

    init() {}

    /// Adds `amount` (negative amounts are ignored: a counter never goes down).
    public func inc(by amount: Double = 1) {
        guard amount > 0 else { return }
        AtomicDouble.add(bits, amount)
    }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// A value that goes up and down. Updates are lock-free atomic operations.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(0)

    init() {}

    /// Sets the value.
    public func set(_ value: Double) { bits.store(value.bitPattern, ordering: .relaxed) }
    /// Adds `amount` (1 by default).
    public func inc(by amount: Double = 1) { AtomicDouble.add(bits, amount) }
    /// Subtracts `amount` (1 by default).
    public func dec(by amount: Double = 1) { AtomicDouble.add(bits, -amount) }

    /// The current value.
    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

/// Observations counted into buckets, with their sum and count. An observation
/// takes a short lock (a binary search outside it, three additions inside).
public final class Histogram: Sendable {
    struct State: Sendable {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    private let bounds: [Double]
    private let state: Mutex<State>

    init(buckets: Buckets) {
        self.bounds = buckets.bounds
        self.state = Mutex(State(counts: Array(repeating: 0, count: buckets.bounds.count)))
    }

    /// Records one observation (seconds, for JobGate's durations). NaN is ignored.
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        // First bucket whose upper bound is >= value (le is inclusive); past the end means +Inf only.
        var lo = 0, hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid] < value { lo = mid + 1 } else { hi = mid }
        }
        let index = lo
        state.withLock { s in
            if index < s.counts.count { s.counts[index] += 1 }
            s.sum += value
            s.count += 1
        }
    }

    /// Records the seconds elapsed since `start`.
    public func observe(since start: ContinuousClock.Instant) {
        observe((ContinuousClock.now - start).seconds)
    }

    /// Per-bucket (not cumulative) counts, sum and count, read together.
    func snapshot() -> State { state.withLock { $0 } }

    /// Observations so far.
    public var count: UInt64 { state.withLock { $0.count } }
    /// Sum of the observations so far.
    public var sum: Double { state.withLock { $0.sum } }
}

enum AtomicDouble {
    static func add(_ bits: borrowing Atomic<UInt64>, _ amount: Double) {
        var old = bits.load(ordering: .relaxed)
        while true {
            let new = (Double(bitPattern: old) + amount).bitPattern
            let (exchanged, original) = bits.compareExchange(
                expected: old, desired: new, successOrdering: .relaxed, failureOrdering: .relaxed)
            if exchanged { return }
            old = original
        }
    }
}
