import Foundation
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGatePostgres

/// One API token's record (never its secret).
public struct APIToken: Sendable, Equatable {
    /// The token's id (shown by `token list`, used by `token revoke`).
    public var id: UUID
    /// The tenant it acts for.
    public var tenant: String
    /// A label for humans.
    public var name: String
    /// Scope names as stored.
    public var scopes: [String]
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    /// True when the token may be used at `now`.
    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// API tokens in `api_tokens`: only the SHA-256 of a secret is stored; the secret is
/// shown once, when it is created.
public struct TokenStore: Sendable {
    /// The pool the statements run on.
    public let pool: PostgresPool
    /// Every secret starts with this, so leaked tokens are easy to recognise (and grep for).
    public static let secretPrefix = "jg_"

    /// A store over `pool`.
    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// The stored hash of a secret.
    public static func hash(_ secret: String) -> [UInt8] { SHA256.hash(secret) }

    /// Creates a token; returns its record and the secret (shown once, never stored).
    /// Throws `APIError.invalidField("tenant", …)` for a tenant outside `TenantName`'s set.
    public func create(tenant: String, scopes: [Scope], name: String = "", expiresAt: Date? = nil) async throws -> (token: APIToken, secret: String) {
        if let problem = TenantName.problem(tenant) { throw APIError.invalidField("tenant", "Invalid tenant: \(problem).") }
        let secret = Self.secretPrefix + SecureRandom.token(bytes: 32)
        let id = UUIDv7.make()
        let names = scopes.map(\.rawValue)
        let rows = try await pool.query(AuthQueries.createToken, [id, tenant, name, names, Self.hash(secret), expiresAt])
        let created = try rows.first?.decode(0, as: Date.self) ?? Date()
        let token = APIToken(id: id, tenant: tenant, name: name, scopes: names, createdAt: created, expiresAt: expiresAt,
                             revokedAt: nil, lastUsedAt: nil)
        return (token, secret)
    }

    /// Tokens, oldest first; `tenant` nil lists every tenant's.
    public func list(tenant: String? = nil) async throws -> [APIToken] {
        try await pool.query(AuthQueries.listTokens, [tenant]).map(Self.decode)
    }

    /// Revokes a token; false when no token has that id.
    @discardableResult
    public func revoke(id: UUID) async throws -> Bool {
        try await pool.query(AuthQueries.revokeToken, [id]).count == 1
    }

    /// The token whose secret is `secret`, usable or not; nil when unknown.
    public func lookup(secret: String) async throws -> APIToken? {
        try await pool.query(AuthQueries.lookupToken, [Self.hash(secret)]).first.map(Self.decode)
    }

    /// The token with this id, usable or not; nil when unknown.
    public func lookup(id: UUID) async throws -> APIToken? {
        try await pool.query(AuthQueries.lookupTokenByID, [id]).first.map(Self.decode)
    }

    /// Records a use, at most once a minute per token.
    public func touch(id: UUID) async throws {
        try await pool.query(AuthQueries.touchToken, [id])
    }

    static func decode(_ r: PostgresRow) throws -> APIToken {
        APIToken(
            id: try r.decode(0), tenant: try r.decode(1), name: try r.decode(2),
            scopes: (try r.decode(3, as: PostgresTextArray.self)).elements.compactMap { $0 },
            createdAt: try r.decode(4), expiresAt: try r.decode(5), revokedAt: try r.decode(6), lastUsedAt: try r.decode(7))
    }
}
