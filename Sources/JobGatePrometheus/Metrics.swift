import Synchronization

/// Process-wide metrics.
///
/// `Metrics.default` is the registry that `/metrics` (API) and `--metrics-addr`
/// (workers) render; JobGate's own metrics are declared once in `JobGateMetrics`.
public enum Metrics {
    /// The registry every JobGate component records into.
    public static let `default` = MetricsRegistry()
}

/// A set of metric families rendered together in Prometheus' text exposition format 0.0.4.
///
/// Thread-safe. Registering a family takes a lock; recording into a child
/// (`Counter`, `Gauge`, `Histogram`) does not touch the registry at all.
/// Registering a name twice with the same kind, labels (and buckets) returns
/// the existing family, so independent components can declare what they use.
public final class MetricsRegistry: Sendable {
    private struct Entry: Sendable {
        let name: String
        let family: any MetricFamily
    }

    private let families = Mutex<[String: Entry]>([:])
    private let scrapeHooks = Mutex<[@Sendable () async -> Void]>([])

    /// An empty registry (tests make their own; production uses `Metrics.default`).
    public init() {}

    /// A counter family: a value that only goes up (requests served, jobs completed).
    public func counter(_ name: String, help: String, labels: [String] = []) -> CounterFamily {
        register(name) { CounterFamily(name: name, help: help, labelNames: labels) }
    }

    /// A gauge family: a value set or moved both ways (slots busy, connections in use).
    public func gauge(_ name: String, help: String, labels: [String] = []) -> GaugeFamily {
        register(name) { GaugeFamily(name: name, help: help, labelNames: labels) }
    }

    /// A histogram family with `buckets` as upper bounds (seconds for JobGate's durations).
    public func histogram(_ name: String, help: String, labels: [String] = [], buckets: Buckets = .latency) -> HistogramFamily {
        register(name) { HistogramFamily(name: name, help: help, labelNames: labels, buckets: buckets) }
    }

    /// A gauge whose samples are computed when the registry is rendered.
    ///
    /// `collect` runs on the rendering thread for every scrape, so it must be cheap and
    /// must not block (read a cached value; refresh it in a scrape hook, see `onScrape`).
    /// Each sample gives the label values in the order of `labels`.
    public func computedGauge(
        _ name: String, help: String, labels: [String] = [],
        collect: @escaping @Sendable () -> [MetricSample]
    ) {
        _ = register(name) { ComputedGaugeFamily(name: name, help: help, labelNames: labels, collect: collect) }
    }

    /// Adds work to run before each `scrape()` (e.g. refreshing a cached database query).
    public func onScrape(_ hook: @escaping @Sendable () async -> Void) {
        scrapeHooks.withLock { $0.append(hook) }
    }

    /// Runs the scrape hooks, then renders: what a `/metrics` handler should call.
    public func scrape() async -> String {
        let hooks = scrapeHooks.withLock { $0 }
        for hook in hooks { await hook() }
        return render()
    }

    /// Every family in the text exposition format 0.0.4, sorted by name.
    /// Serve it with `Content-Type: text/plain; version=0.0.4; charset=utf-8`.
    public func render() -> String {
        let entries = families.withLock { Array($0.values) }.sorted { $0.name < $1.name }
        var out = ""
        out.reserveCapacity(entries.count * 256)
        for entry in entries { entry.family.render(into: &out) }
        return out
    }

    /// The content type of `render()`'s output.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private func register<F: MetricFamily>(_ name: String, make: () -> F) -> F {
        precondition(MetricName.isValid(name), "invalid metric name \(name)")
        return families.withLock { families in
            if let existing = families[name] {
                guard let same = existing.family as? F, same.isCompatible(with: make()) else {
                    preconditionFailure("metric \(name) registered twice with different kinds, labels or buckets")
                }
                return same
            }
            let family = make()
            families[name] = Entry(name: name, family: family)
            return family
        }
    }
}

/// One sample of a computed gauge: label values (in the family's label order) and a value.
public struct MetricSample: Sendable, Equatable {
    /// Label values, one per label name of the family.
    public var labels: [String]
    /// The value.
    public var value: Double

    /// A sample.
    public init(labels: [String] = [], value: Double) {
        self.labels = labels
        self.value = value
    }
}

/// Histogram upper bounds, ascending; `+Inf` is always added when rendering.
public struct Buckets: Sendable, Equatable {
    /// The finite upper bounds, ascending and without duplicates.
    public let bounds: [Double]

    /// Buckets with these upper bounds (sorted; duplicates and non-finite values dropped).
    public init(_ bounds: [Double]) {
        self.bounds = Array(Set(bounds.filter { $0.isFinite })).sorted()
    }

    /// `count` bounds starting at `start`, each `factor` times the previous.
    public static func exponential(start: Double, factor: Double, count: Int) -> Buckets {
        precondition(start > 0 && factor > 1 && count > 0)
        var bounds: [Double] = []
        var b = start
        for _ in 0..<count { bounds.append(b); b *= factor }
        return Buckets(bounds)
    }

    /// Request latency in seconds: 1 ms to 60 s.
    public static let latency = Buckets([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
    ])

    /// Job run time and queue wait in seconds: 1 ms to 6 hours.
    public static let jobDuration = Buckets([
        0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600,
    ])
}

// MARK: - Families

protocol MetricFamily: AnyObject, Sendable {
    func render(into out: inout String)
    func isCompatible(with other: Self) -> Bool
}

/// Children of a family, one per distinct list of label values, created on first use and then cached.
final class ChildCache<Child: Sendable>: Sendable {
    private let children = Mutex<[[String]: Child]>([:])
    let labelNames: [String]

    init(labelNames: [String]) {
        for l in labelNames { precondition(MetricName.isValidLabel(l), "invalid label name \(l)") }
        self.labelNames = labelNames
    }

    func child(_ values: [String], make: () -> Child) -> Child {
        precondition(values.count == labelNames.count,
                     "expected \(labelNames.count) label values (\(labelNames)), got \(values.count)")
        return children.withLock { children in
            if let c = children[values] { return c }
            let c = make()
            children[values] = c
            return c
        }
    }

    /// Children sorted by label values, for stable output.
    func snapshot() -> [([String], Child)] {
        children.withLock { Array($0) }
            .map { ($0.key, $0.value) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
    }
}

/// A family of counters sharing a name and label names.
public final class CounterFamily: MetricFamily {
    /// The metric name.
    public let name: String
    let help: String
    let cache: ChildCache<Counter>

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.cache = ChildCache(labelNames: labelNames)
    }

    /// The counter for these label values (in label-name order). Keep it to skip the lookup on hot paths.
    public func labels(_ values: String...) -> Counter { labels(values) }

    /// The counter for these label values (in label-name order).
    public func labels(_ values: [String]) -> Counter { cache.child(values) { Counter() } }

    /// Adds `amount` to the unlabelled counter (a family without label names).
    public func inc(by amount: Double = 1) { labels([]).inc(by: amount) }

    func isCompatible(with other: CounterFamily) -> Bool { cache.labelNames == other.cache.labelNames }

    func render(into out: inout String) {
        Exposition.header(&out, name: name, help: help, type: "counter")
        for (values, c) in cache.snapshot() {
            Exposition.sample(&out, name: name, labelNames: cache.labelNames, values: values, value: c.value)
        }
    }
}

/// A family of gauges sharing a name and label names.
public final class GaugeFamily: MetricFamily {
    /// The metric name.
    public let name: String
    let help: String
    let cache: ChildCache<Gauge>

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.cache = ChildCache(labelNames: labelNames)
    }

    /// The gauge for these label values (in label-name order).
    public func labels(_ values: String...) -> Gauge { labels(values) }

    /// The gauge for these label values (in label-name order).
    public func labels(_ values: [String]) -> Gauge { cache.child(values) { Gauge() } }

    /// Sets the unlabelled gauge (a family without label names).
    public func set(_ value: Double) { labels([]).set(value) }

    func isCompatible(with other: GaugeFamily) -> Bool { cache.labelNames == other.cache.labelNames }

    func render(into out: inout String) {
        Exposition.header(&out, name: name, help: help, type: "gauge")
        for (values, g) in cache.snapshot() {
            Exposition.sample(&out, name: name, labelNames: cache.labelNames, values: values, value: g.value)
        }
    }
}

/// A gauge family whose samples come from a callback at render time.
final class ComputedGaugeFamily: MetricFamily {
    let name: String
    let help: String
    let labelNames: [String]
    let collect: @Sendable () -> [MetricSample]

    init(name: String, help: String, labelNames: [String], collect: @escaping @Sendable () -> [MetricSample]) {
        for l in labelNames { precondition(MetricName.isValidLabel(l), "invalid label name \(l)") }
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.collect = collect
    }

    // A second registration under the same name would silently drop its callback: refuse it.
    func isCompatible(with other: ComputedGaugeFamily) -> Bool { false }

    func render(into out: inout String) {
        Exposition.header(&out, name: name, help: help, type: "gauge")
        let samples = collect()
            .filter { $0.labels.count == labelNames.count }
            .sorted { $0.labels.lexicographicallyPrecedes($1.labels) }
        for s in samples {
            Exposition.sample(&out, name: name, labelNames: labelNames, values: s.labels, value: s.value)
        }
    }
}

/// A family of histograms sharing a name, label names and buckets.
public final class HistogramFamily: MetricFamily {
    /// The metric name.
    public let name: String
    let help: String
    /// The bucket upper bounds.
    public let buckets: Buckets
    let cache: ChildCache<Histogram>

    init(name: String, help: String, labelNames: [String], buckets: Buckets) {
        precondition(!labelNames.contains("le"), "a histogram cannot have a label named le")
        self.name = name
        self.help = help
        self.buckets = buckets
        self.cache = ChildCache(labelNames: labelNames)
    }

    /// The histogram for these label values (in label-name order).
    public func labels(_ values: String...) -> Histogram { labels(values) }

    /// The histogram for these label values (in label-name order).
    public func labels(_ values: [String]) -> Histogram { cache.child(values) { Histogram(buckets: buckets) } }

    /// Observes into the unlabelled histogram (a family without label names).
    public func observe(_ value: Double) { labels([]).observe(value) }

    func isCompatible(with other: HistogramFamily) -> Bool {
        cache.labelNames == other.cache.labelNames && buckets == other.buckets
    }

    func render(into out: inout String) {
        Exposition.header(&out, name: name, help: help, type: "histogram")
        let names = cache.labelNames + ["le"]
        for (values, h) in cache.snapshot() {
            let s = h.snapshot()
            var cumulative: UInt64 = 0
            for (i, bound) in buckets.bounds.enumerated() {
                cumulative += s.counts[i]
                Exposition.sample(&out, name: name + "_bucket", labelNames: names,
                                  values: values + [Exposition.format(bound)], value: Double(cumulative))
            }
            Exposition.sample(&out, name: name + "_bucket", labelNames: names,
                              values: values + ["+Inf"], value: Double(s.count))
            Exposition.sample(&out, name: name + "_sum", labelNames: cache.labelNames, values: values, value: s.sum)
            Exposition.sample(&out, name: name + "_count", labelNames: cache.labelNames, values: values, value: Double(s.count))
        }
    }
}
