import JobGateCore
import Synchronization
import Testing

@Suite struct CoalescerTests {
    @Test func concurrentRequestsShareBatchesAndGetTheirOwnResults() async throws {
        let batches = Mutex<[Int]>([])
        let coalescer = Coalescer<Int, Int>(maxBatch: 100, maxInFlight: 1) { inputs in
            batches.withLock { $0.append(inputs.count) }
            try await Task.sleep(for: .milliseconds(20))
            return inputs.map { $0 * 2 }
        }
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for i in 0..<200 { group.addTask { (i, try await coalescer.submit(i)) } }
            var out: [(Int, Int)] = []
            for try await r in group { out.append(r) }
            return out
        }
        #expect(results.count == 200)
        #expect(results.allSatisfy { $0.1 == $0.0 * 2 })
        let sizes = batches.withLock { $0 }
        #expect(sizes.reduce(0, +) == 200)
        #expect(sizes.count < 200, "nothing was coalesced: \(sizes)")
        #expect(sizes.allSatisfy { $0 <= 100 })
    }

    @Test func aFailingBatchFailsItsRequestsOnly() async throws {
        struct Boom: Error {}
        let coalescer = Coalescer<Int, Int>(maxBatch: 1) { inputs in
            if inputs == [13] { throw Boom() }
            return inputs
        }
        await #expect(throws: Boom.self) { try await coalescer.submit(13) }
        #expect(try await coalescer.submit(7) == 7)
    }
}
