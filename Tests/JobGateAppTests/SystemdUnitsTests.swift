import Foundation
import JobGateTestSupport
import Testing

/// `deploy/systemd/`'s units pass `systemd-analyze verify` (as installed: the binary at
/// /usr/local/bin, the environment file in /etc/jobgate, here pointed at the built binary
/// and the example file), and each carries the hardening the operations guide promises.
@Suite struct SystemdUnitsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let units = ["jobgate-migrate.service", "jobgate-api.service", "jobgate-worker@.service"]

    @Test func unitsVerifyCleanAndAreHardened() async throws {
        let analyze = try #require(["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                   "systemd-analyze is missing: apt-get install systemd (scripts/test does)")
        let binary = try JobGateBinary.path()
        let dir = NSTemporaryDirectory() + "jobgate-units-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = Self.root.appendingPathComponent("deploy/systemd").path
        var targets: [String] = []
        for unit in Self.units {
            let text = try String(contentsOfFile: "\(source)/\(unit)", encoding: .utf8)
            for line in ["NoNewPrivileges=yes", "ProtectSystem=strict", "DynamicUser=yes", "PrivateTmp=yes", "EnvironmentFile=/etc/jobgate/jobgate.env"] {
                #expect(text.contains("\n\(line)\n"), "\(unit) lacks \(line)")
            }
            let local = text.replacingOccurrences(of: "/usr/local/bin/jobgate", with: binary)
                .replacingOccurrences(of: "/etc/jobgate/jobgate.env", with: "\(source)/jobgate.env.example")
            // A template is verified as one of its instances.
            let name = unit.replacingOccurrences(of: "@.service", with: "@1.service")
            try local.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8)
            if name != unit { try local.write(toFile: "\(dir)/\(unit)", atomically: true, encoding: .utf8) }
            targets.append("\(dir)/\(name)")
        }
        let p = try TestProcess([analyze, "verify"] + targets)
        let status = await p.wait(timeout: .seconds(60))
        let output = (try? String(contentsOfFile: p.logPath, encoding: .utf8)) ?? ""
        #expect(status == 0, "systemd-analyze verify failed: \(output)")
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "systemd-analyze warned: \(output)")
    }
}
