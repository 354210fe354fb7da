/// A permission a token carries (DESIGN.md §7). `admin` implies every other scope,
/// within the token's own tenant.
public enum Scope: String, Sendable, CaseIterable, Hashable {
    /// Submit jobs and redrive failed ones.
    case submit = "jobs:submit"
    /// Read jobs, their events and lists.
    case read = "jobs:read"
    /// Cancel jobs.
    case cancel = "jobs:cancel"
    /// Everything above.
    case admin

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
    /// The tenant whose jobs the caller sees.
    public var tenant: String
    /// The scopes granted.
    public var scopes: Set<Scope>
    /// How the caller authenticated.
    public var kind: Kind

    /// A principal.
    public init(tenant: String, scopes: Set<Scope>, kind: Kind) {
        self.tenant = tenant
        self.scopes = scopes
        self.kind = kind
    }

    /// True when the caller holds `scope` (or `admin`).
    public func has(_ scope: Scope) -> Bool { scopes.contains(scope) || scopes.contains(.admin) }
}
