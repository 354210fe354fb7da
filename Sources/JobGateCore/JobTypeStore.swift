import Foundation
import JobGatePostgres
import Synchronization

/// A change `JobTypeStore.apply` made to one job type.
public struct JobTypeChange: Sendable, Equatable {
    /// The type's name.
    public var name: String
    /// Its settings before (nil: the type was added).
    public var before: JobTypeSettings?
    /// Its settings now.
    public var after: JobTypeSettings

    /// A change of type `name` from `before` (nil: added) to `after`.
    public init(name: String, before: JobTypeSettings?, after: JobTypeSettings) {
        self.name = name; self.before = before; self.after = after
    }
}

/// The `job_types` table (DESIGN.md §15): the one place every node learns a type's queue,
/// attempts, time limit and backoff.
public struct JobTypeStore: Sendable {
    /// The pool it runs on.
    public let pool: PostgresPool

    /// A store over `pool`.
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// The channel each change is announced on.
    public static let notifyChannel = JobQueries.jobTypesChannel

    /// Every type and its settings.
    public func all() async throws -> [String: JobTypeSettings] {
        var out: [String: JobTypeSettings] = [:]
        for r in try await pool.query(JobQueries.jobTypes) {
            out[try r.decode(0, as: String.self)] = try Self.settings(r, from: 1)
        }
        return out
    }

    /// Writes `types` as `by`: types not in the table are added; with `overwrite`, types whose
    /// settings differ are updated (without it they are left as they are). Returns what
    /// changed, by name; every node reloads on the notification it sends.
    @discardableResult
    public func apply(_ types: [String: JobTypeSettings], by: String, overwrite: Bool = true) async throws -> [JobTypeChange] {
        if types.isEmpty { return [] }
        let parameters = Self.applyParameters(types, by: by, overwrite: overwrite)
        let rows = try await pool.query(JobQueries.applyJobTypes, parameters)
        return try rows.map { r in
            let before: JobTypeSettings? = try r.decode(6, as: String?.self) == nil ? nil : try Self.settings(r, from: 6)
            return JobTypeChange(name: try r.decode(0), before: before, after: try Self.settings(r, from: 1))
        }
    }

    /// Adds the built-in types that are missing (`JobTypeSettings.builtIns`), on `conn`;
    /// `Migrator.migrate()` does it, so a fresh database knows them before any worker starts.
    static func seedBuiltIns(_ conn: PostgresConnection) throws {
        try conn.query(JobQueries.applyJobTypes, applyParameters(JobTypeSettings.builtIns, by: "jobgate (built-in)", overwrite: false))
    }

    private static func applyParameters(_ types: [String: JobTypeSettings], by: String, overwrite: Bool) -> [any PostgresBindable] {
        let list = types.sorted { $0.key < $1.key }
        return [list.map(\.key), list.map { $0.value.queue ?? "default" }, list.map(\.value.maxAttempts),
                list.map(\.value.timeoutSeconds), list.map(\.value.retry.baseSeconds), list.map(\.value.retry.capSeconds),
                by, overwrite]
    }

    /// Settings from columns queue, max attempts, timeout, backoff base and cap at `i`...`i+4`.
    private static func settings(_ r: PostgresRow, from i: Int) throws -> JobTypeSettings {
        let queue = try r.decode(i, as: String.self)
        return JobTypeSettings(timeoutSeconds: try r.decode(i + 2), maxAttempts: try r.decode(i + 1),
                               retry: RetryPolicy(baseSeconds: try r.decode(i + 3), capSeconds: try r.decode(i + 4)),
                               queue: queue)
    }
}

/// A node's copy of `job_types`, read on every submit without a round trip: loaded at
/// start, reloaded on each change's NOTIFY and on a timer (the fallback when notifications
/// cannot arrive, as behind a transaction-pooling PgBouncer).
public final class JobTypeCatalog: Sendable {
    private let store: JobTypeStore
    private let types: Mutex<[String: JobTypeSettings]?>

    /// A catalog of `store`'s table, empty until the first `refresh()`.
    public init(store: JobTypeStore) {
        self.store = store
        self.types = Mutex(nil)
    }

    /// The types as last loaded (empty before the first load).
    public var current: [String: JobTypeSettings] { types.withLock { $0 ?? [:] } }

    /// Whether a load has succeeded yet.
    public var isLoaded: Bool { types.withLock { $0 != nil } }

    /// Reloads the table.
    public func refresh() async throws {
        let all = try await store.all()
        types.withLock { $0 = all }
    }

    /// Keeps the copy current until cancelled: reloads on each notification (when `listen`
    /// names a connection that can LISTEN) and every `interval`.
    public func run(listen: PostgresConfiguration?, interval: Duration = .seconds(10), log: @escaping @Sendable (String, any Error) -> Void) async {
        let listener = listen.map { PostgresListener(configuration: $0, channels: [JobTypeStore.notifyChannel]) }
        defer { listener?.stop() }
        await withTaskGroup(of: Void.self) { group in
            if let listener {
                group.addTask { [self] in
                    for await _ in listener.events {
                        do { try await refresh() } catch { log("reloading job types failed", error) }
                    }
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    if Task.isCancelled { break }
                    do { try await refresh() } catch { log("reloading job types failed", error) }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }
}
