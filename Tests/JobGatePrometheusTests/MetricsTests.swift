import Foundation
import JobGatePrometheus
import Testing

/// The registry and the text exposition format, without a database.
struct MetricsTests {
    @Test func counterAndGaugeRenderHelpTypeAndSortedSamples() {
        let r = MetricsRegistry()
        let c = r.counter("x_requests_total", help: "Requests.", labels: ["route", "code"])
        c.labels("/b", "200").inc()
        c.labels("/a", "500").inc(by: 2)
        c.labels("/a", "500").inc(by: -5) // ignored: counters never go down
        let g = r.gauge("x_busy", help: "Busy slots.")
        g.set(3)
        g.labels().dec()
        #expect(r.render() == """
            # HELP x_busy Busy slots.
            # TYPE x_busy gauge
            x_busy 2
            # HELP x_requests_total Requests.
            # TYPE x_requests_total counter
            x_requests_total{route="/a",code="500"} 2
            x_requests_total{route="/b",code="200"} 1

            """)
    }

    @Test func labelValuesAndHelpAreEscaped() {
        let r = MetricsRegistry()
        r.counter("x_total", help: "Back\\slash and\nnewline \"quoted\".", labels: ["v"])
            .labels("a\\b \"c\"\nd").inc()
        let text = r.render()
        #expect(text.contains(#"# HELP x_total Back\\slash and\nnewline "quoted"."#))
        #expect(text.contains(#"x_total{v="a\\b \"c\"\nd"} 1"#))
        // Every sample stays on one line.
        #expect(text.split(separator: "\n").count == 3)
    }

    @Test func histogramBucketsAreCumulativeWithInfSumAndCount() {
        let r = MetricsRegistry()
        let h = r.histogram("x_seconds", help: "Durations.", labels: ["type"], buckets: Buckets([0.25, 1, 10]))
        let child = h.labels("noop")
        for v in [0.125, 0.25, 0.5, 2, 20, 30] { child.observe(v) }
        #expect(r.render() == """
            # HELP x_seconds Durations.
            # TYPE x_seconds histogram
            x_seconds_bucket{type="noop",le="0.25"} 2
            x_seconds_bucket{type="noop",le="1"} 3
            x_seconds_bucket{type="noop",le="10"} 4
            x_seconds_bucket{type="noop",le="+Inf"} 6
            x_seconds_sum{type="noop"} 52.875
            x_seconds_count{type="noop"} 6

            """)
    }

    @Test func readyBucketsSpanMillisecondsToMinutesAndHours() {
        #expect(Buckets.latency.bounds.first == 0.001)
        #expect(Buckets.latency.bounds.last == 60)
        #expect(Buckets.jobDuration.bounds.first == 0.001)
        #expect(Buckets.jobDuration.bounds.last! >= 3600 * 6)
        #expect(Buckets.exponential(start: 1, factor: 2, count: 4).bounds == [1, 2, 4, 8])
        #expect(Buckets([3, 1, 1, .infinity]).bounds == [1, 3])
    }

    @Test func computedGaugesAreCollectedAtRenderTime() {
        let r = MetricsRegistry()
        let value = LockedBox(1.0)
        r.computedGauge("x_depth", help: "Depth.", labels: ["queue"]) {
            [MetricSample(labels: ["b"], value: value.get()), MetricSample(labels: ["a"], value: 0.25)]
        }
        #expect(r.render().contains("x_depth{queue=\"b\"} 1\n"))
        value.set(7)
        let text = r.render()
        #expect(text.contains("x_depth{queue=\"a\"} 0.25\nx_depth{queue=\"b\"} 7\n"))
    }

    @Test func registeringTheSameFamilyTwiceReturnsIt() {
        let r = MetricsRegistry()
        let a = r.counter("x_total", help: "X.", labels: ["k"])
        let b = r.counter("x_total", help: "X.", labels: ["k"])
        a.labels("v").inc()
        b.labels("v").inc()
        #expect(a === b)
        #expect(a.labels("v") === b.labels("v"))
        #expect(a.labels("v").value == 2)
    }

    @Test func manyTasksIncrementingLoseNothing() async {
        let r = MetricsRegistry()
        let c = r.counter("x_total", help: "X.", labels: ["k"])
        let g = r.gauge("x_gauge", help: "G.")
        let h = r.histogram("x_seconds", help: "H.", buckets: Buckets([0.5]))
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<16 {
                group.addTask {
                    for i in 0..<5_000 {
                        c.labels(t % 2 == 0 ? "even" : "odd").inc()
                        g.labels().inc()
                        h.observe(i % 2 == 0 ? 0.25 : 1)
                    }
                }
            }
        }
        #expect(c.labels("even").value == 40_000)
        #expect(c.labels("odd").value == 40_000)
        #expect(g.labels().value == 80_000)
        #expect(h.labels().count == 80_000)
        #expect(h.labels().sum == 40_000 * 0.25 + 40_000 * 1)
        #expect(r.render().contains("x_seconds_bucket{le=\"0.5\"} 40000\nx_seconds_bucket{le=\"+Inf\"} 80000\n"))
    }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.withLock { value } }
    func set(_ v: T) { lock.withLock { value = v } }
}
