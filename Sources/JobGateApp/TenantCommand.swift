import Foundation
import JobGateCore
import JobGatePostgres

extension JobGateCLI {
    static let tenantCommand = Command(
        name: "tenant", summary: "list tenant weights, or set one: tenants with ready jobs in one queue are claimed from in proportion to their weights",
        usage: "jobgate tenant list | tenant set NAME --weight W [--database-url URL]",
        options: [OptionSpec("weight", value: "W", help: "set: the tenant's weight, a whole number from 1 to 1000 (a tenant without one weighs 1)")]
    ) { args in
        let (action, p) = try args.action(["list": 1, "set": 2], say: "list or set NAME --weight W")
        let weightText = args.string("weight")
        guard (action == "set") == (weightText != nil) else {
            throw UsageError(action == "set" ? "set needs --weight W" : "--weight goes with set")
        }
        var change: (TenantName, Int)?
        if action == "set", let w = weightText {
            if let problem = TenantName.problem(p[1]) { throw UsageError("\"\(p[1])\" is not a tenant name: \(problem)") }
            let range = TenantWeight.range
            guard let v = Int(w), range.contains(v) else {
                throw UsageError("--weight must be a whole number from \(range.lowerBound) to \(range.upperBound), got \"\(w)\"")
            }
            change = (TenantName(p[1])!, v)
        }
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        let store = JobStore(pool: pool)
        if let (tenant, weight) = change {
            let row = try await store.setTenantWeight(tenant, weight: weight, by: "jobgate tenant set")
            printError("tenant \(row.name): weight \(row.weight)")
            return 0
        }
        print(["TENANT", "WEIGHT", "UPDATED BY", "UPDATED AT"].joined(separator: "\t"))
        for t in try await store.tenantWeights() {
            print([t.name, String(t.weight), t.updatedBy, ISO8601DateFormatter().string(from: t.updatedAt)].joined(separator: "\t"))
        }
        return 0
    }
}
