import Foundation
import JobGateSystem

/// A real PgBouncer in transaction pooling mode in front of the test server, with its stock
/// settings (no `ignore_startup_parameters`), started for one test and stopped by its pid.
///
/// It runs as the unprivileged `postgres` user when the tests run as root (PgBouncer refuses
/// root), through `setpriv`, which execs it: the pid is PgBouncer's own. The binary is
/// `JOBGATE_TEST_PGBOUNCER`, else Debian's `/usr/sbin/pgbouncer` (scripts/test installs it); a
/// missing binary fails the test.
public final class PgBouncerProcess: @unchecked Sendable {
    /// Its TCP port on 127.0.0.1.
    public let port: Int
    private let process: TestProcess
    private let directory: String

    /// Starts one with `poolSize` server connections per database and user: small, so that
    /// many clients share each server session, as in production.
    public static func start(poolSize: Int = 2) async throws -> PgBouncerProcess {
        let env = ProcessInfo.processInfo.environment
        let binary = env["JOBGATE_TEST_PGBOUNCER"] ?? "/usr/sbin/pgbouncer"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestSetupError("PgBouncer not found at \(binary): run the tests through scripts/test (it installs pgbouncer)")
        }
        guard let host = env["PGHOST"], let serverPort = env["PGPORT"] else {
            throw TestSetupError("no PostgreSQL configured: run the tests through scripts/test")
        }
        let directory = NSTemporaryDirectory() + "jobgate-pgbouncer-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = TestPorts.unused()
        let user = env["PGUSER"] ?? "postgres"
        try "\"\(user)\" \"\"\n".write(toFile: directory + "/users.txt", atomically: true, encoding: .utf8)
        try """
            [databases]
            * = host=\(host) port=\(serverPort)

            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = \(port)
            unix_socket_dir =
            auth_type = trust
            auth_file = \(directory)/users.txt
            pool_mode = transaction
            default_pool_size = \(poolSize)
            max_client_conn = 500
            server_login_retry = 1

            """.write(toFile: directory + "/pgbouncer.ini", atomically: true, encoding: .utf8)
        var argv = [binary, directory + "/pgbouncer.ini"]
        if getuid() == 0 {
            _ = chown(directory, Self.postgresUID, Self.postgresGID)
            for f in ["users.txt", "pgbouncer.ini"] { _ = chown(directory + "/" + f, Self.postgresUID, Self.postgresGID) }
            argv = ["/usr/bin/setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + argv
        }
        let process = try TestProcess(argv)
        let bouncer = PgBouncerProcess(port: port, process: process, directory: directory)
        let up = await eventually(timeout: .seconds(20)) { TestPorts.accepts(port) }
        guard up else {
            throw TestSetupError("PgBouncer did not listen on \(port): \(process.output.suffix(1000))")
        }
        return bouncer
    }

    private init(port: Int, process: TestProcess, directory: String) {
        self.port = port
        self.process = process
        self.directory = directory
    }

    /// A libpq conninfo for `database` through this PgBouncer.
    public func url(database: String) -> String {
        "host=127.0.0.1 port=\(port) dbname=\(database) user=\(ProcessInfo.processInfo.environment["PGUSER"] ?? "postgres")"
    }

    /// What PgBouncer logged so far.
    public var output: String { process.output }

    /// Stops it (SIGINT: PgBouncer's immediate shutdown) and removes its files, without waiting:
    /// for a `defer`, which runs even when the test fails half-way.
    public func stop() {
        process.signal(SIGINT)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static var postgresUID: uid_t { getpwnam("postgres")?.pointee.pw_uid ?? 0 }
    private static var postgresGID: gid_t { getpwnam("postgres")?.pointee.pw_gid ?? 0 }
}
