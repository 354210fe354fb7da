import Foundation
import JobGateCore
import JobGatePostgres

extension JobGateCLI {
    static let migrateCommand = Command(
        name: "migrate", summary: "apply pending database migrations",
        usage: "jobgate migrate [--status] [--database-url URL]",
        options: [OptionSpec("status", help: "list applied and pending migrations instead of applying")]
    ) { args in
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        let migrator = Migrator(pool: pool)
        if args.flag("status") {
            for s in try await migrator.status() {
                let state = s.appliedAt.map { "applied \($0)" } ?? "pending"
                print("\(String(format: "%04d", s.version))  \(s.name.padding(toLength: 36, withPad: " ", startingAt: 0))  \(state)")
            }
            return 0
        }
        let applied = try await migrator.migrate()
        if applied.isEmpty {
            FileHandle.standardError.write(Data("jobgate migrate: database is up to date\n".utf8))
        } else {
            for v in applied {
                let name = Migrations.all.first { $0.version == v }?.name ?? "\(v)"
                FileHandle.standardError.write(Data("jobgate migrate: applied \(name)\n".utf8))
            }
        }
        return 0
    }
}
