import Foundation
import JobGateAPI
import JobGateAuth
import JobGateCore
import JobGatePostgres
import JobGateSystem

extension JobGateCLI {
    static let tokenCommand = Command(
        name: "token", summary: "create, list and revoke API tokens",
        usage: "jobgate token create --tenant T --scopes a,b [--name N] [--expires-in 30d] | token list [--tenant T] | token revoke ID",
        options: [
            OptionSpec("tenant", value: "T", help: "the tenant the token acts for (create; filter for list)"),
            OptionSpec("scopes", value: "a,b", help: "jobs:submit, jobs:read, jobs:cancel, admin (all of them, own tenant), operator (every tenant's dashboard)"),
            OptionSpec("name", value: "N", help: "a label shown by token list"),
            OptionSpec("expires-in", value: "DURATION", help: "e.g. 12h, 30d (default: never)"),
        ]
    ) { args in
        let pool = try DatabaseLocation.commandPool(args)
        defer { pool.shutdown() }
        guard let action = args.positionals.first else { throw UsageError("say create, list or revoke") }
        let tokens = TokenStore(pool: pool)
        switch action {
        case "create":
            guard args.positionals.count == 1 else { throw UsageError("unexpected argument \(args.positionals[1])") }
            guard let tenant = args.string("tenant"), !tenant.isEmpty else { throw UsageError("--tenant is required") }
            if let problem = TenantName.problem(tenant) {
                throw UsageError("--tenant \"\(tenant)\" is not a valid tenant name: \(problem) (1-63 bytes of a-z 0-9 . _ -)")
            }
            guard let scopeText = args.string("scopes") else { throw UsageError("--scopes is required") }
            let scopes: [Scope]
            switch Scope.parseList(scopeText) {
            case .success(let s) where !s.isEmpty: scopes = s
            case .success: throw UsageError("--scopes names no scope")
            case .failure(let e): throw UsageError("--scopes: \(e.message)")
            }
            var expiresAt: Date?
            if args.string("expires-in") != nil {
                let d = try args.duration("expires-in", default: .zero)
                expiresAt = Date().addingTimeInterval(d.seconds)
            }
            let (token, secret) = try await tokens.create(tenant: tenant, scopes: scopes, name: args.string("name") ?? "", expiresAt: expiresAt)
            // The secret alone on stdout (so `$(jobgate token create …)` captures it); details on stderr.
            print(secret)
            printError("created token \(token.id.lowercasedString) for tenant \(tenant) with scopes \(token.scopes.joined(separator: ","))"
                       + (expiresAt.map { ", expires \(ISO8601DateFormatter().string(from: $0))" } ?? ", never expires")
                       + "\nthe secret above is shown only once: store it now")
        case "list":
            let list = try await tokens.list(tenant: args.string("tenant"))
            let f = ISO8601DateFormatter()
            func d(_ x: Date?) -> String { x.map { f.string(from: $0) } ?? "-" }
            print(["ID", "TENANT", "NAME", "SCOPES", "CREATED", "EXPIRES", "LAST USED", "STATE"].joined(separator: "\t"))
            let now = Date()
            for t in list {
                let state = t.revokedAt != nil ? "revoked" : (t.isUsable(at: now) ? "active" : "expired")
                print([t.id.lowercasedString, t.tenant, t.name.isEmpty ? "-" : t.name, t.scopes.joined(separator: ","),
                       d(t.createdAt), d(t.expiresAt), d(t.lastUsedAt), state].joined(separator: "\t"))
            }
        case "revoke":
            guard args.positionals.count == 2, let id = UUIDText.parse(args.positionals[1]) else {
                throw UsageError("token revoke needs one token ID (see token list)")
            }
            guard try await tokens.revoke(id: id) else { throw RuntimeFailure("no token \(args.positionals[1])") }
            printError("revoked token \(args.positionals[1]); API nodes refuse it within a few seconds")
        default:
            throw UsageError("unknown action \(action): say create, list or revoke")
        }
        return 0
    }
}
