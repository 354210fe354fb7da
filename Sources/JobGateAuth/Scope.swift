import Foundation
import JobGateCore
import JobGateHTTP

/// A permission a token carries (DESIGN.md §7, §13). `admin` implies the job scopes, within the
/// token's own tenant only; `operator` alone reaches across tenants (global operations such as
/// the dashboard of every tenant) and is implied by nothing.
public enum Scope: String, Sendable, CaseIterable, Hashable {
    /// Submit jobs and redrive failed ones.
    case submit = "jobs:submit"
    /// Read jobs, their events and lists.
    case read = "jobs:read"
    /// Cancel jobs.
    case cancel = "jobs:cancel"
    /// Every job scope above, within the token's tenant.
    case admin
    /// Global operations across tenants (the dashboard of every tenant); no job access by itself.
    case `operator`

    /// Parses a comma- or space-separated list, refusing unknown names.
    public static func parseList(_ text: String) -> Result<[Scope], APIError> {
        var out: [Scope] = []
        for name in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let s = Scope(rawValue: String(name)) else {
                let known = allCases.map(\.rawValue).joined(separator: ", ")
                return .failure(APIError.invalidField("scopes", "Unknown scope \"\(name)\"; known: \(known)."))
            }
            if !out.contains(s) { out.append(s) }
        }
        return .success(out)
    }
}

/// Who is calling: the tenant a request acts for and what it may do.
public struct Principal: Sendable, Equatable {
    /// How the caller authenticated.
    public enum Kind: Sendable, Equatable {
        /// An API token from `api_tokens`, by id.
        case apiToken(String)
        /// A JWT, by subject.
        case jwt(subject: String?)
    }
    /// The tenant whose jobs the caller sees (a checked name: see `TenantName`).
    public var tenantName: TenantName
    /// The scopes granted.
    public var scopes: Set<Scope>
    /// How the caller authenticated.
    public var kind: Kind
    /// When the credential stops being valid (an API token's `expires_at`, a JWT's `exp`), if ever.
    public var expiresAt: Date?

    /// A principal.
    public init(tenant: TenantName, scopes: Set<Scope>, kind: Kind, expiresAt: Date? = nil) {
        self.tenantName = tenant
        self.scopes = scopes
        self.kind = kind
        self.expiresAt = expiresAt
    }

    /// The tenant as text, for queries and logs.
    public var tenant: String { tenantName.rawValue }

    /// True when the caller holds `scope`; `admin` implies the job scopes, never `operator`.
    public func has(_ scope: Scope) -> Bool {
        scopes.contains(scope) || (scope != .operator && scopes.contains(.admin))
    }

    /// True when the caller may see every tenant (global operations, DESIGN.md §13).
    public var isOperator: Bool { scopes.contains(.operator) }
}
