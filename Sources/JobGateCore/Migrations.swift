/// The SQL migrations compiled into the binary (from `migrations/`), so `jobgate migrate`
/// works from any directory. Adding a file to `migrations/` means adding a line here;
/// a test checks that the two agree.
public enum Migrations {
    /// One migration file.
    public struct File: Sendable {
        /// The number at the start of its name; applied in ascending order.
        public let version: Int
        /// The file name, e.g. `0001_initial_schema.sql`.
        public let name: String
        /// Its SQL text.
        public let sql: String

        /// A migration; the bundled ones come from `all`.
        public init(version: Int, name: String, sql: String) {
            self.version = version
            self.name = name
            self.sql = sql
        }
    }

    /// Every migration, in order.
    public static let all: [File] = [
        file("0001_initial_schema.sql", PackageResources._001_initial_schema_sql),
        file("0002_reporting_views.sql", PackageResources._002_reporting_views_sql),
        file("0003_job_types.sql", PackageResources._003_job_types_sql),
        file("0004_sql_submit.sql", PackageResources._004_sql_submit_sql),
        file("0005_partitioned_job_events.sql", PackageResources._005_partitioned_job_events_sql),
        file("0006_schedules.sql", PackageResources._006_schedules_sql),
        file("0007_queue_controls.sql", PackageResources._007_queue_controls_sql),
        file("0008_tenant_weights.sql", PackageResources._008_tenant_weights_sql),
        file("0009_job_progress.sql", PackageResources._009_job_progress_sql),
        file("0010_claim_function.sql", PackageResources._010_claim_function_sql),
        file("0011_complete_function.sql", PackageResources._011_complete_function_sql),
    ].sorted { $0.version < $1.version }

    private static func file(_ name: String, _ bytes: [UInt8]) -> File {
        let version = Int(name.prefix { $0.isNumber }) ?? 0
        return File(version: version, name: name, sql: String(decoding: bytes, as: UTF8.self))
    }
}
