@testable import JobGateBench
import JobGateBench
import Testing

/// `jobgate bench`'s percentiles: nearest rank over the sorted samples.
@Suite struct LatencySummaryTests {
    @Test func percentilesAreNearestRanks() {
        let hundred = LatencySummary((1...100).reversed().map(Double.init))
        #expect([hundred.count, Int(hundred.p50), Int(hundred.p95), Int(hundred.p99), Int(hundred.max)] == [100, 50, 95, 99, 100])
        let three = LatencySummary([3, 1, 2])
        #expect([three.p50, three.p95, three.p99, three.max] == [2, 3, 3, 3])
        let one = LatencySummary([7])
        #expect([one.p50, one.p99] == [7, 7])
        let none = LatencySummary([])
        #expect(none.count == 0 && none.p50 == 0 && none.max == 0)
    }
}
