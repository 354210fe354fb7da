import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import JobGateCore
import JobGateCrypto
import JobGateSystem
import Synchronization

/// How bearer JWTs from an OIDC provider are accepted (DESIGN.md §7).
public struct JWTAuthSettings: Sendable {
    /// A JWKS document on disk.
    public var jwksFile: String?
    /// A JWKS URL (`jwks_uri`); fetched at start, every `refreshInterval`, and when a token names an unknown `kid`.
    public var jwksURL: String?
    /// The required `iss`, or nil.
    public var issuer: String?
    /// A value `aud` must contain, or nil.
    public var audience: String?
    /// The claim naming the tenant (e.g. `tenant`, `custom:tenant`, `org_id`).
    public var tenantClaim: String = "tenant"
    /// Tenant for tokens without `tenantClaim`; nil refuses such tokens (401).
    public var defaultTenant: String?
    /// The claim holding scopes, as a space-separated string or an array (`scope`, `scp`, `permissions`).
    public var scopesClaim: String = "scope"
    /// Scopes of tokens that carry no `scopesClaim` at all, such as an identity provider's ID
    /// tokens for ordinary signed-in users (the reference sample's authorizer let every one of
    /// them submit and read). Empty: such tokens get no scope. A token whose claim is present,
    /// even empty or naming no JobGate scope, gets only what it names.
    public var defaultScopes: Set<Scope> = []
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    public var leeway: TimeInterval = 60
    /// How often a JWKS URL is fetched again.
    public var refreshInterval: Duration = .seconds(600)
    /// The least time between fetches caused by tokens naming an unknown `kid`, so a flood of
    /// tokens with made-up key ids cannot make the API hammer the identity provider.
    public var unknownKeyRefetchInterval: Duration = .seconds(30)

    /// Settings with the defaults above and no key source.
    public init() {}
}

/// Holds the current JWKS: from a file, or from a URL refreshed in the background and on
/// demand (at most every 30 s) when a token names a key it does not know (key rotation).
final class JWKSProvider: Sendable {
    let settings: JWTAuthSettings
    private struct State {
        var jwks: JWKS?
        var fetchedAt: ContinuousClock.Instant?
        /// The refetch in progress, which concurrent callers wait for instead of starting their own.
        var refetch: Task<Void, Never>?
    }
    private let state = Mutex(State())

    init(settings: JWTAuthSettings) {
        self.settings = settings
    }

    /// Loads the keys once; throws when the file or URL gives no usable JWKS.
    func load() async throws {
        let jwks: JWKS
        if let path = settings.jwksFile {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw APIConfigurationError("cannot read the JWKS file \(path)")
            }
            jwks = try JWKS(json: Array(data))
        } else if let url = settings.jwksURL {
            jwks = try await Self.fetch(url)
        } else {
            throw APIConfigurationError("JWT authentication needs a JWKS file or URL")
        }
        for note in jwks.skipped { Log.warn("JWKS key skipped", ["reason": note]) }
        state.withLock { s in
            s.jwks = jwks
            s.fetchedAt = ContinuousClock.now
        }
    }

    var current: JWKS? { state.withLock { $0.jwks } }

    /// Refetches a URL-based JWKS if the last fetch is older than `minimumAge`, or waits for
    /// the refetch already running; returns once the keys are as fresh as they will get, so
    /// the caller verifies again with `current`. Of concurrent callers one fetches per interval.
    func refreshIfStale(minimumAge: Duration) async {
        guard let url = settings.jwksURL else { return }
        let refetch = state.withLock { s -> Task<Void, Never>? in
            if let running = s.refetch { return running }
            let now = ContinuousClock.now
            guard s.fetchedAt.map({ now - $0 >= minimumAge }) ?? true else { return nil }
            s.fetchedAt = now
            let task = Task {
                let jwks: JWKS?
                do {
                    jwks = try await Self.fetch(url)
                } catch {
                    Log.warn("JWKS refresh failed", ["error": String(describing: error)])
                    jwks = nil
                }
                self.state.withLock { s in
                    if let jwks { s.jwks = jwks }
                    s.refetch = nil
                }
            }
            s.refetch = task
            return task
        }
        await refetch?.value
    }

    static func fetch(_ urlText: String) async throws -> JWKS {
        guard let url = URL(string: urlText) else { throw APIConfigurationError("invalid JWKS URL") }
        var request = URLRequest(url: url)
        request.timeoutInterval = 10
        let (data, response) = try await URLSession.shared.data(for: request)
        if let http = response as? HTTPURLResponse, http.statusCode != 200 {
            throw APIConfigurationError("JWKS URL answered HTTP \(http.statusCode)")
        }
        return try JWKS(json: Array(data))
    }
}

/// A configuration problem found when the API starts.
public struct APIConfigurationError: Error, CustomStringConvertible, Sendable {
    /// What is wrong.
    public var description: String
    /// An error with a message.
    public init(_ description: String) { self.description = description }
}
