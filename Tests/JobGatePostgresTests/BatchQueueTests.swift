import JobGatePostgres
import Testing

/// The batching policy alone: no database, no clock, no threads.
@Suite struct BatchQueueTests {
    func started(_ a: BatchQueue<String>.Arrival) -> [String]? {
        if case .start(let b) = a { return b.elements } else { return nil }
    }

    @Test func aLoneRequestStartsAtOnceAndOthersWaitForTheBatchInFlight() {
        var q = BatchQueue<String>(limits: .init(maxBatchWeight: 3))
        #expect(started(q.arrive("a")) == ["a"])
        for x in ["b", "c", "d", "e"] {
            guard case .waiting = q.arrive(x) else { Issue.record("\(x) should wait"); return }
        }
        #expect(q.waitingCount == 4 && q.backlog == 5)
        // The batch in flight ends: everything waiting, up to the weight limit, in arrival order.
        let next = q.finished(weight: 1)
        #expect(next?.elements == ["b", "c", "d"] && next?.weight == 3)
        #expect(q.finished(weight: 3)?.elements == ["e"])
        #expect(q.finished(weight: 1) == nil)
        #expect(q.backlog == 0 && q.inFlight == 0)
    }

    @Test func aHeavierElementGoesAloneAndWeightsAreSummed() {
        var q = BatchQueue<String>(limits: .init(maxBatchWeight: 100))
        _ = q.arrive("first", weight: 1)
        _ = q.arrive("small", weight: 60)
        _ = q.arrive("huge", weight: 500)
        _ = q.arrive("tail", weight: 30)
        let b1 = q.finished(weight: 1)
        #expect(b1?.elements == ["small"] && b1?.weight == 60, "small + huge is over the limit")
        let b2 = q.finished(weight: 60)
        #expect(b2?.elements == ["huge"] && b2?.weight == 500, "too heavy for any batch: alone")
        #expect(q.finished(weight: 500)?.elements == ["tail"])
    }

    @Test func aSecondBatchStartsOnlyWhenEnoughWaits() {
        var q = BatchQueue<String>(limits: .init(maxBatchWeight: 1000, maxInFlight: 2, parallelMinWeight: 200))
        #expect(started(q.arrive("one")) == ["one"])
        guard case .waiting = q.arrive("small", weight: 50) else { Issue.record("a second commit for 50 jobs"); return }
        #expect(started(q.arrive("big", weight: 150)) == ["small", "big"], "200 jobs wait: a second batch")
        #expect(q.inFlight == 2)
        guard case .waiting = q.arrive("x", weight: 500) else { Issue.record("no third slot"); return }
        #expect(q.finished(weight: 1)?.elements == ["x"])
    }

    @Test func theBacklogLimitRefusesOnlyWhatDoesNotFit() {
        var q = BatchQueue<String>(limits: .init(maxBatchWeight: 10, maxBacklogWeight: 10))
        // An empty queue takes anything, so one oversized unit is not refused forever.
        #expect(started(q.arrive("big", weight: 50)) == ["big"])
        guard case .refused = q.arrive("more", weight: 1) else { Issue.record("over the backlog"); return }
        #expect(q.backlog == 50)
        #expect(q.finished(weight: 50) == nil)
        #expect(started(q.arrive("a", weight: 4)) == ["a"])
        guard case .waiting = q.arrive("b", weight: 6) else { Issue.record("fits exactly"); return }
        guard case .refused = q.arrive("c", weight: 1) else { Issue.record("one over"); return }
    }

    /// A long queue is drained in order across many batches (the taken prefix is dropped now
    /// and then, not copied per batch).
    @Test func aLongQueueDrainsInOrder() {
        var q = BatchQueue<Int>(limits: .init(maxBatchWeight: 7))
        var out: [Int] = []
        if case .start(let b) = q.arrive(0) { out += b.elements }
        for i in 1..<5000 { _ = q.arrive(i) }
        var weight = 1
        while let b = q.finished(weight: weight) {
            out += b.elements
            weight = b.weight
            #expect(b.weight <= 7)
        }
        #expect(out == Array(0..<5000))
    }
}
