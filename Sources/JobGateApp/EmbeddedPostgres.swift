import Foundation
import JobGateCore
import JobGateSystem

/// A private PostgreSQL cluster for `jobgate up` when no database is configured
/// (DESIGN.md §2): made with the system's `initdb` under `.jobgate/pg`, listening on a
/// unix socket in that folder, stopped again when `up` exits. When JobGate runs as
/// root the cluster runs as an unprivileged user (PostgreSQL refuses root).
public final class EmbeddedPostgres: @unchecked Sendable {
    /// Where the cluster lives: `data/` holds the cluster, the socket is in this folder.
    public let directory: URL
    /// The libpq conninfo to reach it.
    public var url: String { "host=\(socketDirectory.path) port=\(port) user=postgres dbname=postgres" }
    /// The unix socket's directory.
    public let socketDirectory: URL
    /// The port number (names the socket file; TCP only if `tcp` is set).
    public let port: Int
    private let tcp: Bool
    private let binDir: String
    private let runAsUser: String?
    /// True if this object started the server (and so stops it).
    public private(set) var startedByUs = false

    var dataDirectory: URL { directory.appendingPathComponent("data") }

    /// Locates the PostgreSQL binaries; fails with a one-line error naming the package when absent.
    public init(directory: URL, port: Int = 5432, tcp: Bool = false) throws {
        let requested = directory.standardizedFileURL
        let user = getuid() == 0 ? (ProcessInfo.processInfo.environment["JOBGATE_PG_USER"] ?? "postgres") : nil
        // As root, the server runs as `user`, which must reach the folder through every parent. A
        // checkout under /root is not reachable, so such a cluster lives under /var/lib/jobgate.
        if let user, !Self.reachable(requested, by: user) {
            let fallback = URL(fileURLWithPath: "/var/lib/jobgate/\(Self.shortHash(requested.path))/pg")
            Log.info("the embedded PostgreSQL's user cannot reach the data directory; using another",
                     ["requested": requested.path, "dir": fallback.path, "user": user])
            self.directory = fallback
        } else {
            self.directory = requested
        }
        self.port = port
        self.tcp = tcp
        guard let bin = Self.findBinDir() else { throw Self.notInstalled }
        binDir = bin
        runAsUser = user
        // A unix socket path is limited to 107 bytes; fall back to a short private folder.
        let socketPath = self.directory.path + "/.s.PGSQL.\(port)"
        if socketPath.utf8.count > 100 {
            socketDirectory = URL(fileURLWithPath: "/tmp/jobgate-\(getuid())-\(Self.shortHash(self.directory.path))")
        } else {
            socketDirectory = self.directory
        }
    }

    /// A cluster located and started on a thread of its own, for async callers: finding the
    /// binaries runs `pg_config`, and initdb and `pg_ctl -w` take seconds, none of which may
    /// hold one of the cooperative pool's few threads.
    public static func started(directory: URL, port: Int = 5432, tcp: Bool = false) async throws -> EmbeddedPostgres {
        try await onOwnThread {
            let e = try EmbeddedPostgres(directory: directory, port: port, tcp: tcp)
            try e.start()
            return e
        }
    }

    /// `stop()` on a thread of its own (`pg_ctl stop -w` waits for the server to exit).
    public func stopOffPool() async {
        _ = try? await onOwnThread { self.stop() }
    }

    /// Creates the cluster on first use, starts it (or reuses one already running there), and waits until it accepts connections.
    public func start() throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        if socketDirectory != directory { try fm.createDirectory(at: socketDirectory, withIntermediateDirectories: true) }
        if let user = runAsUser {
            guard getpwnam(user) != nil else {
                throw RuntimeFailure("running as root, the embedded PostgreSQL needs the unprivileged user \"\(user)\" (created by `apt-get install postgresql`; or set JOBGATE_PG_USER)")
            }
            for d in Set([directory.path, socketDirectory.path]) { try run(["/bin/chown", "\(user):", d], asPostgres: false) }
            // The server's user must be able to reach the folder through every parent.
            if (try? run(["/usr/bin/test", "-x", directory.path], asPostgres: true)) == nil {
                throw RuntimeFailure("the embedded PostgreSQL runs as \"\(user)\", which cannot reach \(directory.path); use --data-dir with a path it can traverse (e.g. under /var/lib or /tmp)")
            }
        }
        chmod(directory.path, 0o700)
        chmod(socketDirectory.path, 0o700)
        if !fm.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) {
            Log.info("creating embedded PostgreSQL cluster", ["dir": dataDirectory.path])
            try run([binDir + "/initdb", "-D", dataDirectory.path, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"], asPostgres: true)
        }
        if isRunning() {
            Log.info("reusing the embedded PostgreSQL already running", ["dir": dataDirectory.path])
            return
        }
        removeStalePidFile()
        var options = "-k \(socketDirectory.path) -p \(port) -c listen_addresses=\(tcp ? "127.0.0.1" : "''")"
        options += " -c max_connections=200"
        try run([binDir + "/pg_ctl", "-D", dataDirectory.path, "-l", directory.appendingPathComponent("server.log").path,
                 "-w", "-t", "60", "-o", options, "start"], asPostgres: true)
        startedByUs = true
        Log.info("embedded PostgreSQL started", ["socket": socketDirectory.path, "port": port])
    }

    /// Stops the server if this object started it (fast shutdown: running sessions are ended, data is safe).
    public func stop() {
        guard startedByUs else { return }
        startedByUs = false
        do {
            try run([binDir + "/pg_ctl", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60", "stop"], asPostgres: true)
            Log.info("embedded PostgreSQL stopped")
        } catch {
            Log.error("could not stop the embedded PostgreSQL", ["error": String(describing: error)])
        }
    }

    /// True when a server is running on this cluster (pg_ctl status).
    public func isRunning() -> Bool {
        (try? run([binDir + "/pg_ctl", "-D", dataDirectory.path, "status"], asPostgres: true)) != nil
    }

    /// A crash leaves `postmaster.pid` behind; if the process it names is gone or is not
    /// a postgres, remove it so the next start is not refused.
    private func removeStalePidFile() {
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = Int32(first.trimmingCharacters(in: .whitespaces)) else { return }
        var stale = kill(pid, 0) != 0 && errno == ESRCH
        if !stale, let cmd = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) {
            stale = !cmd.contains("postgres")
        }
        if stale {
            Log.warn("removing a stale postmaster.pid left by a crash", ["pid": Int(pid)])
            try? FileManager.default.removeItem(at: pidFile)
        }
    }

    @discardableResult
    private func run(_ argv: [String], asPostgres: Bool) throws -> String {
        var args = argv
        if asPostgres, let user = runAsUser { args = ["/usr/sbin/runuser", "-u", user, "--"] + argv }
        let result = try Spawn.run(args)
        let text = result.output
        guard result.status == 0 else {
            let tail = text.split(separator: "\n").suffix(5).joined(separator: " | ")
            throw RuntimeFailure("\((argv[0] as NSString).lastPathComponent) failed (exit \(result.status)): \(tail)")
        }
        return text
    }

    /// Whether `user` can traverse every existing ancestor of `dir` (the folder itself is made
    /// and handed to the user by `start`).
    static func reachable(_ dir: URL, by user: String) -> Bool {
        guard let pw = getpwnam(user) else { return true }  // start() reports the missing user
        let uid = pw.pointee.pw_uid, gid = pw.pointee.pw_gid
        var path = dir.deletingLastPathComponent().path
        while true {
            var st = stat()
            if stat(path, &st) == 0 {
                let mode = st.st_mode
                let ok = st.st_uid == uid ? mode & 0o100 != 0 : (st.st_gid == gid ? mode & 0o010 != 0 : mode & 0o001 != 0)
                if !ok { return false }
            }
            if path == "/" || path.isEmpty { return true }
            path = (path as NSString).deletingLastPathComponent
        }
    }

    /// The one-line error `up` gives when no PostgreSQL server is installed.
    static let notInstalled = RuntimeFailure("PostgreSQL is not installed: install the server with `apt-get install postgresql` (or set JOBGATE_DATABASE_URL)")

    /// The folder holding initdb and pg_ctl: `JOBGATE_PG_BINDIR`, else what `pg_config --bindir`
    /// says, else the newest `<versions>/N/bin`; nil when none has an initdb.
    static func findBinDir(environment: [String: String] = ProcessInfo.processInfo.environment,
                           pgConfigs: [String] = ["/usr/bin/pg_config", "/usr/local/bin/pg_config"],
                           versions versionsRoot: String = "/usr/lib/postgresql") -> String? {
        let fm = FileManager.default
        if let env = environment["JOBGATE_PG_BINDIR"], fm.isExecutableFile(atPath: env + "/initdb") { return env }
        if let pgConfig = pgConfigs.first(where: fm.isExecutableFile(atPath:)),
           let r = try? Spawn.run([pgConfig, "--bindir"]), r.status == 0 {
            let dir = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if fm.isExecutableFile(atPath: dir + "/initdb") { return dir }
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: versionsRoot)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for v in versions where fm.isExecutableFile(atPath: "\(versionsRoot)/\(v)/bin/initdb") {
            return "\(versionsRoot)/\(v)/bin"
        }
        return nil
    }

    private static func shortHash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h & 0xFFFF_FFFF, radix: 16)
    }
}
