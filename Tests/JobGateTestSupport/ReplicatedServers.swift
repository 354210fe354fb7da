import Foundation
import JobGatePostgres
import JobGateSystem

/// A PostgreSQL primary and a streaming standby made with `pg_basebackup`, on loopback ports of
/// their own (not the suite's shared server), for failover and read-replica tests. The standby is
/// synchronous (`synchronous_standby_names` names it), so a commit is acknowledged only once the
/// standby has flushed it, as in a deployment that promises no lost job across a failover.
///
/// Runs the servers as the unprivileged `postgres` user when the tests run as root; uses the
/// server binaries scripts/test exports (`JOBGATE_TEST_PGBIN`).
public final class ReplicatedServers: @unchecked Sendable {
    public let primaryPort: Int
    public let standbyPort: Int
    private let directory: String
    private let bin: String

    /// Makes both servers and waits until the standby streams synchronously.
    public static func start() async throws -> ReplicatedServers {
        guard let bin = ProcessInfo.processInfo.environment["JOBGATE_TEST_PGBIN"] else {
            throw TestSetupError("JOBGATE_TEST_PGBIN is not set: run the tests through scripts/test")
        }
        let directory = NSTemporaryDirectory() + "jobgate-repl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let servers = ReplicatedServers(directory: directory, bin: bin, primaryPort: TestPorts.unused(), standbyPort: TestPorts.unused())
        do {
            try await servers.make()
        } catch {
            await servers.stop()
            throw error
        }
        return servers
    }

    /// Runs `body` with a fresh pair and stops it afterwards; an error `body` throws is recorded
    /// with both servers' logs.
    public static func withServers(_ body: (ReplicatedServers) async throws -> Void) async throws {
        let servers = try await start()
        do {
            try await body(servers)
        } catch {
            await servers.stop()
            throw TestSetupError("\(error)\nprimary: \(servers.log("primary"))\nstandby: \(servers.log("standby"))")
        }
        await servers.stop()
    }

    private init(directory: String, bin: String, primaryPort: Int, standbyPort: Int) {
        self.directory = directory
        self.bin = bin
        self.primaryPort = primaryPort
        self.standbyPort = standbyPort
    }

    private func make() async throws {
        if getuid() == 0 { try await run(["/bin/chown", "postgres:", directory], asPostgres: false) }
        try await run([bin + "/initdb", "-D", directory + "/primary", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        try await run([bin + "/pg_ctl", "-D", directory + "/primary", "-l", directory + "/primary.log", "-w", "-t", "60", "-o",
                       "-k \(directory) -p \(primaryPort) -c listen_addresses=127.0.0.1 -c max_connections=100 -c wal_level=replica "
                       + "-c max_wal_senders=4 -c synchronous_standby_names=standby1 -c shared_buffers=32MB", "start"])
        try await run([bin + "/pg_basebackup", "-D", directory + "/standby", "-X", "stream", "-c", "fast",
                       "-d", "host=127.0.0.1 port=\(primaryPort) user=postgres"])
        // The standby names itself so the primary counts it as the synchronous one.
        try "primary_conninfo = 'host=127.0.0.1 port=\(primaryPort) user=postgres application_name=standby1'\n"
            .write(toFile: directory + "/standby.conf", atomically: true, encoding: .utf8)
        try await run(["/bin/sh", "-c", "cat \(directory)/standby.conf >> \(directory)/standby/postgresql.auto.conf && touch \(directory)/standby/standby.signal"])
        try await run([bin + "/pg_ctl", "-D", directory + "/standby", "-l", directory + "/standby.log", "-w", "-t", "60", "-o",
                       "-k \(directory) -p \(standbyPort) -c listen_addresses=127.0.0.1 -c max_connections=100 -c hot_standby=on "
                       + "-c hot_standby_feedback=on -c shared_buffers=32MB", "start"])
        let primary = PostgresPool(configuration: PostgresConfiguration(url: url(port: primaryPort, database: "postgres")))
        defer { primary.shutdown() }
        let streaming = try await eventually(timeout: .seconds(60)) {
            try await primary.query("SELECT 1 FROM pg_stat_replication WHERE application_name = 'standby1' AND sync_state = 'sync'").count == 1
        }
        guard streaming else { throw TestSetupError("the standby did not stream synchronously: \(log("standby"))") }
    }

    /// A conninfo for one server.
    public func url(port: Int, database: String) -> String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=\(database) connect_timeout=2"
    }

    /// The libpq multi-host URI an application uses: whichever server accepts writes.
    public func failoverURL(database: String) -> String {
        "postgresql://postgres@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/\(database)?target_session_attrs=read-write&connect_timeout=2"
    }

    /// SIGKILL to the primary's postmaster (its pid from `postmaster.pid`, the server this
    /// object started): a crash, not a shutdown. Returns once it is gone and its port refuses
    /// connections; its backends exit as they notice.
    public func killPrimary() async throws {
        let text = try String(contentsOfFile: directory + "/primary/postmaster.pid", encoding: .utf8)
        guard let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), pid > 1 else {
            throw TestSetupError("no postmaster pid in \(directory)/primary/postmaster.pid")
        }
        guard kill(pid, SIGKILL) == 0 else { throw TestSetupError("kill(\(pid)): errno \(errno)") }
        let port = primaryPort
        guard await eventually(timeout: .seconds(10), { kill(pid, 0) != 0 && !TestPorts.accepts(port) }) else {
            throw TestSetupError("the primary (pid \(pid)) survived SIGKILL")
        }
    }

    /// Promotes the standby to primary and waits until it accepts writes.
    public func promoteStandby() async throws {
        try await run([bin + "/pg_ctl", "-D", directory + "/standby", "-w", "-t", "60", "promote"])
    }

    /// The server's log, for failure messages.
    public func log(_ server: String) -> String {
        String(((try? String(contentsOfFile: "\(directory)/\(server).log", encoding: .utf8)) ?? "").suffix(2000))
    }

    /// Stops both servers (immediate) and removes their files.
    public func stop() async {
        for server in ["standby", "primary"] where FileManager.default.fileExists(atPath: "\(directory)/\(server)/postmaster.pid") {
            _ = try? await run([bin + "/pg_ctl", "-D", "\(directory)/\(server)", "-m", "immediate", "-w", "-t", "30", "stop"])
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private func run(_ argv: [String], asPostgres: Bool = true) async throws -> String {
        let full = asPostgres && getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + argv : argv
        let finished = try await onOwnThread { try Spawn.run(full) }
        guard finished.status == 0 else {
            throw TestSetupError("\(argv.joined(separator: " ")) exited \(finished.status): \(finished.output.suffix(1500))")
        }
        return finished.output
    }
}
