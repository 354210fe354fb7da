import Foundation
import JobGateCore
import JobGateSystem

/// The pool's maintenance: the queues it serves, the rescuer (expired leases of dead workers),
/// the pruner (retention, one worker at a time) and the scheduler (due cron schedules), each
/// under a deadline.
extension WorkerPool {
    func refreshQueues() async {
        do {
            let queues = try await withDeadline(shortCall) { [self] in try await store.claimableQueues() }
            knownQueues.withLock { $0.formUnion(queues) }
        } catch {
            log.warn("listing queues failed", ["error": String(describing: error)])
        }
    }

    /// Which queues are capped now (paused ones need nothing: the claim statement skips them).
    func refreshQueueControls() async {
        do {
            let controls = try await withDeadline(shortCall) { [self] in try await store.queueControls() }
            cappedQueues.withLock { $0 = Set(controls.filter { $0.concurrencyCap != nil }.map(\.name)) }
        } catch {
            log.warn("reading queue controls failed", ["error": String(describing: error)])
        }
    }

    func rescueOnce() async {
        do {
            let r = try await withDeadline(.seconds(max(1, configuration.leaseSeconds))) { [self] in
                try await store.rescue(limit: 1000, retry: configuration.rescueRetry)
            }
            if r.count > 0 {
                stats.withLock { $0.rescued += r.count }
                for (o, n) in r.outcomes {
                    let m = metrics.job(type: o.type, queue: o.queue)
                    m.rescued.inc(by: Double(n))
                    if o.status == .failed { m.failed.inc(by: Double(n)) }
                    if o.status == .cancelled { m.cancelled.inc(by: Double(n)) }
                }
                log.warn("rescued jobs whose lease expired", ["count": String(r.count), "worker.id": info.id])
                handle(.wake)
            }
        } catch {
            log.warn("rescue failed", ["error": String(describing: error)])
        }
    }

    func pruneOnce() async {
        do {
            guard let r = try await withDeadline(configuration.pruneTimeout, { [self] in
                try await store.prune(jobRetention: configuration.jobRetentionSeconds, historyRetention: configuration.historyRetentionSeconds)
            }) else { return }
            await OutputWriter.remove(r.outputFiles)
            if r.jobsDeleted + r.eventsDeleted + r.partitionsCreated + r.partitionsDropped > 0 {
                log.info("pruned", ["jobs": String(r.jobsDeleted), "events": String(r.eventsDeleted),
                                    "partitions_created": String(r.partitionsCreated), "partitions_dropped": String(r.partitionsDropped)])
            }
            if let problem = r.partitionProblem {
                log.warn("job_events partitions not maintained; old history is deleted row by row", ["error": problem])
            }
        } catch {
            log.warn("prune failed", ["error": String(describing: error)])
        }
    }

    /// Fires the cron schedules due by the scheduler's clock. Every worker runs it; the database
    /// decides which one fires a slot (`ScheduleStore.fireDue`), so the others skip it.
    func fireSchedulesOnce() async {
        do {
            let firings = try await withDeadline(shortCall) { [self] in
                try await ScheduleStore(pool: store.pool).fireDue(now: configuration.scheduleClock())
            }
            guard !firings.isEmpty else { return }
            stats.withLock { $0.scheduled += firings.count }
            for f in firings {
                var fields = ["schedule": f.name, "tenant": f.tenant, "slot": f.slot.formatted(.iso8601), "worker.id": info.id]
                metrics.scheduleFirings.labels(f.jobID == nil ? "no_job" : "job").inc()
                if let id = f.jobID {
                    fields["job.id"] = id.lowercasedString
                    log.info("schedule fired", fields)
                } else {
                    fields["error"] = f.error ?? ""
                    log.warn("schedule fired but made no job", fields)
                }
            }
            handle(.wake)
        } catch {
            log.warn("firing schedules failed", ["error": String(describing: error)])
        }
    }

    /// The deadline of the loop's own statements (claim, heartbeat, hand-backs): a third of the
    /// lease, so a stalled one gives up while the leases it should renew are still valid.
    var shortCall: Duration { .milliseconds(Int(max(1, configuration.leaseSeconds / 3) * 1000)) }
}
