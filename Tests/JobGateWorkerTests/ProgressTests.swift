import Foundation
import JobGateCore
import Testing
@testable import JobGateWorker

/// Progress parsing, limits and the write throttle, with no IO (DESIGN.md §14).
@Suite struct ProgressTests {
    @Test func linesParse() {
        #expect(ProgressLine.parse(Array("progress 40/100 resizing images".utf8)) == ProgressReport(done: 40, total: 100, message: "resizing images"))
        #expect(ProgressLine.parse(Array("progress 3".utf8)) == ProgressReport(done: 3))
        #expect(ProgressLine.parse(Array("progress\t3  \tmany  blanks \r".utf8)) == ProgressReport(done: 3, message: "many  blanks"))
        #expect(ProgressLine.parse(Array("progress 0/0".utf8)) == ProgressReport(done: 0, total: 0))
        #expect(ProgressLine.parse(Array("progress 9223372036854775807".utf8))?.done == Int64.max)
    }

    @Test func malformedLinesAreRefused() {
        for line in ["progress", "progress ", "progress x", "progress -1", "progress 5/4", "progress 5/", "progress /5",
                     "progress 5x", "progress 5/6x", "progress 9223372036854775808", "progress 1/99999999999999999999",
                     "Progress 1", "progress1", "  progress 1", "status 1/2"] {
            #expect(ProgressLine.parse(Array(line.utf8)) == nil, "\(line)")
        }
    }

    @Test func messagesAreMadePrintableAndCut() {
        let long = String(repeating: "é", count: 500)
        let cut = ProgressReport(done: 1, message: long)?.message
        #expect(cut?.unicodeScalars.count == ProgressReport.messageLimit)
        #expect(ProgressReport(done: 1, message: "a\u{0}b\u{1B}[2Jc\nd\u{85}e")?.message == "ab [2Jc d e")
        #expect(ProgressReport(done: 1, message: " \t\r\n ")?.message == nil)
        // Combining marks count as scalars, as PostgreSQL's length() counts them.
        let combining = String(repeating: "e\u{301}", count: 150)
        #expect(ProgressReport(done: 1, message: combining)?.message?.unicodeScalars.count == 200)
        #expect(ProgressReport(done: -1) == nil)
        #expect(ProgressReport(done: 2, total: 1) == nil)
    }

    @Test func theReaderKeepsTheNewestValidReportAndBoundsLines() {
        var reader = ProgressLineReader()
        func feed(_ s: String) { Array(s.utf8).withUnsafeBytes { reader.consume($0) } }
        feed("progress 1/3 a\nprogress 2/")
        feed("3 b\ngarbage\n")
        #expect(reader.take() == ProgressReport(done: 2, total: 3, message: "b"))
        #expect(reader.take() == nil)
        // A line longer than the bound is skipped to its end, however it arrives.
        feed("progress 3/3 " + String(repeating: "x", count: ProgressLine.maxLineBytes))
        feed(String(repeating: "y", count: 10_000) + "\nprogress 3/3 c")
        #expect(reader.take() == nil)
        reader.finish()
        #expect(reader.take() == ProgressReport(done: 3, total: 3, message: "c"))
        #expect(reader.malformed == 2)
        #expect(reader.firstMalformed == "garbage")
    }

    static func update(_ id: UUID, _ done: Int64, attempt: Int = 1) -> ProgressUpdate {
        ProgressUpdate(id: id, attempt: attempt, report: ProgressReport(done: done)!)
    }

    @Test func theThrottleWritesAtMostOnceAnIntervalWithEveryJobInOneWrite() {
        var t = ProgressThrottle(interval: .seconds(1))
        let a = UUID(), b = UUID()
        let t0 = ContinuousClock.now
        #expect(t.report(Self.update(a, 1)) == true)  // starts a flusher
        #expect(t.report(Self.update(a, 2)) == false)  // one is running
        #expect(t.next(now: t0) == .write([Self.update(a, 2)]))  // the first goes at once, newest only
        for n in 3...1000 { _ = t.report(Self.update(a, Int64(n))) }
        _ = t.report(Self.update(b, 7))
        #expect(t.next(now: t0 + .milliseconds(10)) == .wait(until: t0 + .seconds(1)))
        guard case .write(let batch) = t.next(now: t0 + .seconds(1)) else { Issue.record("no write"); return }
        #expect(Set(batch.map(\.id)) == [a, b])
        #expect(batch.first { $0.id == a }?.report.done == 1000)
        #expect(t.next(now: t0 + .seconds(1)) == .stop)
        #expect(!t.flushing)
        #expect(t.report(Self.update(b, 8)) == true)
    }

    @Test func anEndingAttemptIsWrittenAtOnceAndAloneAndAFailedWriteIsKept() {
        var t = ProgressThrottle(interval: .seconds(1))
        let a = UUID(), b = UUID(), c = UUID()
        let t0 = ContinuousClock.now
        _ = t.report(Self.update(a, 1))
        _ = t.next(now: t0)
        _ = t.report(Self.update(a, 2))
        _ = t.report(Self.update(b, 5))
        #expect(t.finish(c) == nil)  // nothing pending or in flight: nothing to wait for
        #expect(t.settled(c))
        #expect(t.finish(b) == false)  // the flusher runs already
        #expect(t.next(now: t0 + .milliseconds(100)) == .write([Self.update(b, 5)]))
        #expect(t.next(now: t0 + .milliseconds(100)) == .wait(until: t0 + .seconds(1)))
        // A failed write comes back unless superseded.
        let batch = [Self.update(a, 2)]
        guard case .write(let w) = t.next(now: t0 + .seconds(1)) else { Issue.record("no write"); return }
        #expect(w == batch)
        t.failed(w, final: [])
        #expect(t.pending[a]?.update == Self.update(a, 2))
        _ = t.report(Self.update(a, 3))
        t.failed(w, final: [])
        #expect(t.pending[a]?.update == Self.update(a, 3))
    }

    /// An attempt that ends while its last report is being written waits for that write: the
    /// result recorded next would fence a later progress write out.
    @Test func anAttemptEndingWhileItsReportIsInFlightWaitsForIt() {
        var t = ProgressThrottle(interval: .seconds(1))
        let a = UUID()
        _ = t.report(Self.update(a, 1))
        #expect(t.next(now: .now) == .write([Self.update(a, 1)]))
        #expect(!t.settled(a))
        #expect(t.finish(a) == false)  // wait, and the running flusher ends the wait
        t.written()
        #expect(t.settled(a))
        #expect(t.finish(a) == nil)
    }
}
