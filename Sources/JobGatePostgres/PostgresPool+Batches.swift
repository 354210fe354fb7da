extension PostgresPool {
    /// Works through batches back to back on one pooled connection's own thread, starting
    /// with `first`, and returns at once: `work` answers a batch (it must not throw: it resumes
    /// its waiters itself), then `next` books it done and returns the next batch, or nil when
    /// nothing waits, and the connection goes back to the pool. No task is involved: the work
    /// is handed straight to a connection thread, and between two batches nothing is scheduled
    /// on the cooperative pool (busy with the requests that make up the next batch; under load
    /// that hop cost as much as the statement). The connection is handed back, and the loop
    /// queues up again, when it broke, was left in a transaction, or other callers wait for
    /// one. When no connection can be had, `fail` answers the batch with the error.
    public func startBatches<Batch: Sendable>(first: Batch,
                                              work: @escaping @Sendable (Batch, PostgresConnection) -> Void,
                                              fail: @escaping @Sendable (Batch, any Error) -> Void,
                                              next: @escaping @Sendable (Batch) -> Batch?) {
        let item = PoolWorkItem()
        item.execute = { conn in
            var b = first
            while true {
                work(b, conn)
                guard let n = next(b) else { return }
                guard conn.isHealthy, !conn.inTransaction, self.statistics.waiting == 0 else {
                    self.startBatches(first: n, work: work, fail: fail, next: next)
                    return
                }
                b = n
            }
        }
        item.fail = { error in
            // No connection (database down, pool exhausted or shut down): this batch is still
            // unanswered.
            fail(first, error)
            if let n = next(first) { self.startBatches(first: n, work: work, fail: fail, next: next) }
        }
        enqueue(item)
    }
}
