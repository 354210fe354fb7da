extension PostgresPool {
    /// Works through batches back to back on one pooled connection's own thread, starting
    /// with `first`: `work` answers a batch (it must not throw: it resumes its waiters itself),
    /// then `next` books it done and returns the next batch, or nil when nothing waits, and
    /// the connection goes back to the pool. Between two batches nothing is scheduled on the
    /// cooperative pool (busy with the requests that make up the next batch): under load
    /// that hop cost as much as the statement. A connection that broke is replaced before
    /// the next batch, and the connection is handed back while other callers wait for one;
    /// when none can be had, `fail` answers the batch with the error.
    public func runBatches<Batch: Sendable>(first: Batch,
                                            work: @escaping @Sendable (Batch, PostgresConnection) -> Void,
                                            fail: @escaping @Sendable (Batch, any Error) -> Void,
                                            next: @escaping @Sendable (Batch) -> Batch?) async {
        var batch = first
        while true {
            let current = batch
            let following: Batch?
            do {
                following = try await withConnection { conn in
                    var b = current
                    while true {
                        work(b, conn)
                        guard let n = next(b) else { return nil }
                        // Back to the pool when the connection broke or was left in a transaction
                        // (the pool thread replaces or cleans it), and when other callers wait
                        // for a connection: they go first, this loop queues up behind them.
                        guard conn.isHealthy, !conn.inTransaction, self.statistics.waiting == 0 else { return n }
                        b = n
                    }
                }
            } catch {
                // No connection (database down, pool exhausted or shut down): the closure never
                // ran, so this batch is still unanswered.
                fail(current, error)
                following = next(current)
            }
            guard let following else { return }
            batch = following
        }
    }
}
