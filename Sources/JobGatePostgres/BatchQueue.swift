/// The batching policy of everything that gathers concurrent requests into one statement
/// (the API's group-committed submits and coalesced status reads, the worker's results): a
/// pure value, events in and decisions out, so the rule is tested without a database or a clock.
///
/// Requests wait while batches are in flight; when a batch may start it takes everything
/// waiting, up to `maxBatchWeight` (a heavier single request still goes, alone). Under light
/// load a request starts a batch of its own at once; under heavy load batches grow by
/// themselves, so per-statement costs (a round trip, a commit) are shared. The owner keeps the
/// value under its lock and runs the batches it is handed (`PostgresPool.startBatches`, or
/// the worker's `Completer` on a task).
public struct BatchQueue<Element: Sendable>: Sendable {
    /// The limits of one queue.
    public struct Limits: Sendable, Equatable {
        /// Most weight in one batch (a single heavier element goes alone).
        public var maxBatchWeight: Int
        /// Batches in flight at once.
        public var maxInFlight: Int
        /// A batch beyond the first starts only when at least this much weight waits
        /// (0: whenever a slot is free).
        public var parallelMinWeight: Int
        /// Weight waiting and in flight beyond which an arrival is refused (nil: no limit).
        public var maxBacklogWeight: Int?

        /// Limits; the defaults run one batch at a time with no backlog limit.
        public init(maxBatchWeight: Int, maxInFlight: Int = 1, parallelMinWeight: Int = 0, maxBacklogWeight: Int? = nil) {
            self.maxBatchWeight = max(1, maxBatchWeight)
            self.maxInFlight = max(1, maxInFlight)
            self.parallelMinWeight = max(0, parallelMinWeight)
            self.maxBacklogWeight = maxBacklogWeight
        }
    }

    /// Elements to run together, in arrival order, and their total weight.
    public struct Batch: Sendable {
        public var elements: [Element]
        public var weight: Int
    }

    /// What became of an arrival.
    public enum Arrival: Sendable {
        /// The backlog is full: the element was not taken.
        case refused
        /// It waits for a batch in flight to end.
        case waiting
        /// It starts this batch (with whatever else waited): run it, then call `finished`.
        case start(Batch)
    }

    /// The limits.
    public let limits: Limits
    private var waiting: [(element: Element, weight: Int)] = []
    private var head = 0
    /// Weight waiting for a batch.
    public private(set) var waitingWeight = 0
    /// Batches running.
    public private(set) var inFlight = 0
    /// Weight in the batches running.
    public private(set) var inFlightWeight = 0

    /// An empty queue.
    public init(limits: Limits) {
        self.limits = limits
    }

    /// Weight waiting or in flight.
    public var backlog: Int { waitingWeight + inFlightWeight }

    /// Elements waiting.
    public var waitingCount: Int { waiting.count - head }

    /// An element arrives: refused over the backlog limit (an empty queue takes anything),
    /// otherwise queued and, when a batch may start, started.
    public mutating func arrive(_ element: Element, weight: Int = 1) -> Arrival {
        if let cap = limits.maxBacklogWeight, backlog > 0, backlog + weight > cap { return .refused }
        waiting.append((element, weight))
        waitingWeight += weight
        return take().map(Arrival.start) ?? .waiting
    }

    /// A batch of `weight` ended: books it and returns the next batch to run, if one may start.
    public mutating func finished(weight: Int) -> Batch? {
        inFlight -= 1
        inFlightWeight -= weight
        return take()
    }

    private mutating func take() -> Batch? {
        guard head < waiting.count, inFlight < limits.maxInFlight else { return nil }
        if inFlight > 0 && waitingWeight < limits.parallelMinWeight { return nil }
        var end = head
        var weight = 0
        while end < waiting.count, end == head || weight + waiting[end].weight <= limits.maxBatchWeight {
            weight += waiting[end].weight
            end += 1
        }
        let batch = Batch(elements: waiting[head..<end].map(\.element), weight: weight)
        head = end
        if head == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > waiting.count {
            // Drop the taken prefix now and then, so a long queue is not copied per batch.
            waiting.removeFirst(head)
            head = 0
        }
        waitingWeight -= weight
        inFlight += 1
        inFlightWeight += weight
        return batch
    }
}
