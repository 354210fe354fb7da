import Foundation

/// Latency samples and their percentiles.
struct LatencySummary: Sendable {
    var count: Int
    var p50: Double
    var p95: Double
    var p99: Double
    var max: Double

    /// Summarises `samples` (seconds).
    init(_ samples: [Double]) {
        let s = samples.sorted()
        count = s.count
        func pct(_ p: Double) -> Double {
            guard !s.isEmpty else { return 0 }
            let k = Int((p * Double(s.count)).rounded(.up)) - 1
            return s[Swift.max(0, min(s.count - 1, k))]
        }
        p50 = pct(0.50)
        p95 = pct(0.95)
        p99 = pct(0.99)
        self.max = s.last ?? 0
    }
}
