import JobGateHTTP
import Foundation
import JobGateCore
import JobGateCrypto
import JobGatePostgres
import JobGateSystem
import Synchronization

/// Turns an `Authorization` header into a `Principal`: an API token (looked up by its
/// SHA-256, cached briefly) or a JWT checked against the configured JWKS.
///
/// Revocation takes effect within `cacheTTL`; `last_used_at` is written at most once a
/// minute per token, off the request path.
public final class Authenticator: Sendable {
    let tokens: TokenStore
    let jwt: JWTAuthSettings?
    let jwks: JWKSProvider?
    let cacheTTL: Duration
    /// Token rows by the SHA-256 of the secret (the secret itself is never kept) or by id
    /// (dashboard sessions name the token that opened them).
    private let cache = Mutex<[CacheKey: CacheEntry]>([:])
    private let touched = Mutex<[UUID: ContinuousClock.Instant]>([:])
    private static let maxCacheEntries = 10_000

    enum CacheKey: Hashable {
        case secretHash([UInt8])
        case id(UUID)
    }

    struct CacheEntry {
        var token: APIToken?
        var fetchedAt: ContinuousClock.Instant
    }

    /// An authenticator over `tokens`, and JWTs when `jwt` is given (call `prepare()` before use).
    public init(tokens: TokenStore, jwt: JWTAuthSettings? = nil, cacheTTL: Duration = .seconds(2)) {
        self.tokens = tokens
        self.jwt = jwt
        self.jwks = jwt.map(JWKSProvider.init)
        self.cacheTTL = cacheTTL
    }

    /// Loads the JWKS, if JWTs are configured.
    public func prepare() async throws {
        try await jwks?.load()
    }

    /// Keeps a URL-based JWKS fresh until the task is cancelled.
    public func refreshLoop() async {
        guard let jwks, let interval = jwt?.refreshInterval, jwt?.jwksURL != nil else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await jwks.refreshIfStale(minimumAge: interval)
        }
    }

    /// The caller behind `authorization` (`Bearer X` or a raw `X`); 401 when missing or invalid.
    public func authenticate(_ authorization: String?) async throws -> Principal {
        guard let credential = Self.credential(authorization) else {
            throw APIError.unauthorized("Missing credentials: send Authorization: Bearer <token>.")
        }
        if let jwks, credential.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).count == 3 {
            return try await verifyJWT(credential, jwks: jwks)
        }
        guard let token = try await lookup(credential), let principal = Self.principal(token) else {
            throw APIError.unauthorized("The token is invalid, expired or revoked.")
        }
        noteUse(token.id)
        return principal
    }

    /// The caller behind the API token with this id while it is still usable (not revoked, not
    /// expired), through the same short cache as bearer lookups; nil otherwise. A dashboard
    /// session checks its token with it on every request, so revocation ends the session.
    public func principal(forTokenID id: UUID) async throws -> Principal? {
        let token = try await cached(.id(id)) { try await tokens.lookup(id: id) }
        return token.flatMap { Self.principal($0) }
    }

    /// The principal of a usable token row; nil when it is revoked, expired, or names a tenant
    /// outside the allowed set (a row written before names were checked, or by hand).
    static func principal(_ token: APIToken, now: Date = Date()) -> Principal? {
        guard token.isUsable(at: now) else { return nil }
        guard let tenant = TenantName(token.tenant) else {
            Log.warn("API token refused: its tenant is not a valid tenant name", ["token.id": token.id.lowercasedString])
            return nil
        }
        return Principal(tenant: tenant, scopes: Set(token.scopes.compactMap(Scope.init(rawValue:))),
                         kind: .apiToken(token.id.lowercasedString), expiresAt: token.expiresAt)
    }

    /// The token from `Bearer X` (scheme case-insensitive) or a bare `X`.
    static func credential(_ header: String?) -> String? {
        guard let header else { return nil }
        var s = ASCII.trimmed(Substring(header))
        if s.utf8.count > 7, ASCII.hasPrefixIgnoringCase(s, "bearer ") {
            s = ASCII.trimmed(s.dropFirst(7))
        }
        return s.isEmpty || s.utf8.contains(0x20) ? nil : String(s)
    }

    private func lookup(_ secret: String) async throws -> APIToken? {
        // Tokens are long random strings: anything else cannot be one, and needs no query.
        guard secret.utf8.count >= 16, secret.utf8.count <= 512 else { return nil }
        return try await cached(.secretHash(TokenStore.hash(secret))) { try await tokens.lookup(secret: secret) }
    }

    /// The token row under `key`, from the cache when fetched less than `cacheTTL` ago.
    private func cached(_ key: CacheKey, fetch: () async throws -> APIToken?) async throws -> APIToken? {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[key] }), now - hit.fetchedAt < cacheTTL { return hit.token }
        let token = try await fetch()
        cache.withLock { c in
            if c.count >= Self.maxCacheEntries { c.removeAll(keepingCapacity: true) }
            c[key] = CacheEntry(token: token, fetchedAt: now)
        }
        return token
    }

    /// Writes `last_used_at` in the background, at most once a minute per token per node.
    private func noteUse(_ id: UUID) {
        let now = ContinuousClock.now
        let due = touched.withLock { t in
            if let last = t[id], now - last < .seconds(60) { return false }
            if t.count >= Self.maxCacheEntries { t.removeAll(keepingCapacity: true) }
            t[id] = now
            return true
        }
        guard due else { return }
        let tokens = self.tokens
        Task.detached {
            do { try await tokens.touch(id: id) } catch {
                Log.debug("last_used_at not recorded", ["error": String(describing: error)])
            }
        }
    }

    private func verifyJWT(_ token: String, jwks provider: JWKSProvider) async throws -> Principal {
        guard let settings = jwt else { throw APIError.unauthorized("JWTs are not accepted.") }
        func verify() throws(JWTError) -> JWTClaims {
            guard let keys = provider.current else { throw JWTError.unknownKey }
            let verifier = JWTVerifier(jwks: keys, issuer: settings.issuer, audience: settings.audience, leeway: settings.leeway)
            return try verifier.verify(token)
        }
        let claims: JWTClaims
        do {
            claims = try verify()
        } catch JWTError.unknownKey {
            // A rotated key: fetch the JWKS again (rate-limited; or wait for the fetch running)
            // and verify once more.
            await provider.refreshIfStale(minimumAge: settings.unknownKeyRefetchInterval)
            guard let c = try? verify() else {
                throw APIError.unauthorized("The token is invalid: signed with an unknown key.")
            }
            claims = c
        } catch {
            throw APIError.unauthorized("The token is invalid: \(error).")
        }
        guard let text = claims.string(settings.tenantClaim) ?? settings.defaultTenant, !text.isEmpty else {
            throw APIError.unauthorized("The token has no \"\(settings.tenantClaim)\" claim naming a tenant.")
        }
        // Checked before it goes anywhere: a NUL or a Unicode look-alike must not become another tenant.
        guard let tenant = TenantName(text) else {
            throw APIError.unauthorized("The token's \"\(settings.tenantClaim)\" claim is not a valid tenant name (1-63 of a-z 0-9 . _ -).")
        }
        let scopes = claims[settings.scopesClaim] == nil
            ? settings.defaultScopes
            : Set(claims.strings(settings.scopesClaim).compactMap(Scope.init(rawValue:)))
        return Principal(tenant: tenant, scopes: scopes, kind: .jwt(subject: claims.subject), expiresAt: claims.expiresAt)
    }
}
