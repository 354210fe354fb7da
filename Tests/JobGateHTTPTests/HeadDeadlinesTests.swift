import Testing
@testable import JobGateHTTP

/// The head-deadline bookkeeping on its own: events in, sockets to cut out, no IO.
@Suite struct HeadDeadlinesTests {
    let start = ContinuousClock.now

    func deadlines() -> HeadDeadlines {
        HeadDeadlines(headerTimeout: .seconds(10), idleTimeout: .seconds(30))
    }

    @Test func aNewConnectionsHeadIsDueTenSecondsAfterItsAccept() {
        var table = deadlines()
        table.opened(1, socket: 7, at: start)
        table.requestLineReceived(1, at: start + .seconds(9))
        #expect(table.overdue(at: start + .seconds(9.9)) { _ in 0 } == [])
        #expect(table.overdue(at: start + .seconds(10)) { _ in 0 } == [7])
        #expect(table.overdue(at: start + .seconds(11)) { _ in 0 } == [], "a socket is cut once")
        table.closed(1)
        #expect(table.entries.isEmpty)
    }

    @Test func aCompleteHeadIsNoLongerTimed() {
        var table = deadlines()
        table.opened(1, socket: 7, at: start)
        table.headCompleted(1)
        #expect(table.overdue(at: start + .seconds(25)) { _ in 0 } == [])
    }

    @Test func aKeptAliveConnectionIdlesUntilItsNextByteThenOwesAHead() {
        var table = deadlines()
        table.opened(1, socket: 7, at: start)
        table.headCompleted(1)
        table.requestCompleted(1, at: start + .seconds(1), bytesReceived: 100)
        // Idle for 20 s: not the head deadline's business.
        #expect(table.overdue(at: start + .seconds(21)) { _ in 100 } == [])
        // A byte arrives: the next head is timed from here.
        #expect(table.overdue(at: start + .seconds(22)) { _ in 101 } == [])
        #expect(table.overdue(at: start + .seconds(31.5)) { _ in 150 } == [])
        #expect(table.overdue(at: start + .seconds(32)) { _ in 160 } == [7])
    }

    @Test func withoutAByteCounterTheRequestLineStartsTheHeadAndIdleIsCapped() {
        var table = deadlines()
        table.opened(1, socket: 7, at: start)
        table.headCompleted(1)
        table.requestCompleted(1, at: start, bytesReceived: nil)
        table.requestLineReceived(1, at: start + .seconds(5))
        #expect(table.overdue(at: start + .seconds(14)) { _ in nil } == [])
        #expect(table.overdue(at: start + .seconds(15)) { _ in nil } == [7])

        table.opened(2, socket: 8, at: start)
        table.headCompleted(2)
        table.requestCompleted(2, at: start, bytesReceived: nil)
        #expect(table.overdue(at: start + .seconds(39)) { _ in nil } == [])
        #expect(table.overdue(at: start + .seconds(40)) { _ in nil } == [8], "idle timeout plus head timeout")
    }
}
