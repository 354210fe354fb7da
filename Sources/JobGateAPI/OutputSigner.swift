import Foundation
import JobGateCore
import JobGateCrypto
import JobGateHTTP
import JobGatePostgres
import JobGateSystem
import Synchronization

/// Signs and checks output URLs (DESIGN.md §6): HMAC-SHA256 over method, path and expiry,
/// keyed by the newest key in `signing_keys`, so every API node signs and verifies alike
/// with no configuration. Keys are cached and reloaded every minute or on an unknown `kid`.
public final class OutputSigner: Sendable {
    /// A signed link.
    public struct SignedURL: Sendable, Equatable {
        /// `/v1/outputs/{id}?expires=…&kid=…&sig=…`
        public var path: String
        /// When the signature stops being accepted.
        public var expiresAt: Date
    }

    let pool: PostgresPool
    /// Seconds a URL stays valid.
    public let lifetimeSeconds: Int
    private let keys = Mutex<(byID: [String: [UInt8]], current: String?, loadedAt: ContinuousClock.Instant?)>(([:], nil, nil))

    /// A signer reading keys through `pool`.
    public init(pool: PostgresPool, lifetimeSeconds: Int = 3600) {
        self.pool = pool
        self.lifetimeSeconds = lifetimeSeconds
    }

    /// The path a job's output is served at.
    public static func outputPath(_ id: UUID) -> String { "/v1/outputs/" + id.lowercasedString }

    /// The string that is MACed.
    static func message(method: String, path: String, expires: Int) -> String { "\(method)\n\(path)\n\(expires)" }

    /// A signed URL for `id`'s output valid for `lifetimeSeconds` from `now`.
    public func sign(_ id: UUID, now: Date = Date()) async throws -> SignedURL {
        let (kid, secret) = try await currentKey()
        let expires = Int(now.timeIntervalSince1970) + lifetimeSeconds
        let path = Self.outputPath(id)
        let sig = Base64URL.encode(HMACSHA256.authenticate(key: secret, message: Self.message(method: "GET", path: path, expires: expires)))
        return SignedURL(path: "\(path)?expires=\(expires)&kid=\(kid)&sig=\(sig)",
                         expiresAt: Date(timeIntervalSince1970: TimeInterval(expires)))
    }

    /// Checks a request's `expires`, `kid` and `sig`; throws 403 when missing, expired or tampered.
    public func verify(path: String, expires: String?, kid: String?, sig: String?, now: Date = Date()) async throws {
        guard let expires, let kid, let sig, let expiry = Int(expires) else {
            throw Self.denied("This link is not signed; use the output.url of the job.")
        }
        guard let secret = try await key(kid) else { throw Self.denied("This link's signature is invalid.") }
        let expected = HMACSHA256.authenticate(key: secret, message: Self.message(method: "GET", path: path, expires: expiry))
        guard let given = Base64URL.decode(sig), ConstantTime.equals(given, expected) else {
            throw Self.denied("This link's signature is invalid.")
        }
        // Checked after the MAC, so the answer does not tell whether a forged link had a good expiry.
        guard Double(expiry) > now.timeIntervalSince1970 else { throw Self.denied("This link has expired; fetch the job again for a fresh one.") }
    }

    static func denied(_ message: String) -> APIError {
        APIError(status: 403, code: "invalid_signature", message: message)
    }

    /// The current signing key's secret (the dashboard derives its session key from it, so
    /// every API node accepts every node's cookies with no configuration).
    func currentSecret() async throws -> [UInt8] {
        try await currentKey().1
    }

    private func currentKey() async throws -> (String, [UInt8]) {
        try await reloadIfOlder(than: .seconds(60))
        guard let (kid, secret) = keys.withLock({ k in k.current.flatMap { id in k.byID[id].map { (id, $0) } } }) else {
            throw PostgresError(code: .decoding, message: "no signing key in signing_keys")
        }
        return (kid, secret)
    }

    private func key(_ kid: String) async throws -> [UInt8]? {
        try await reloadIfOlder(than: .seconds(60))
        if let k = keys.withLock({ $0.byID[kid] }) { return k }
        // Maybe a key added since the last load (rotation by another node); at most every 5 s.
        try await reloadIfOlder(than: .seconds(5))
        return keys.withLock { $0.byID[kid] }
    }

    private func reloadIfOlder(than age: Duration) async throws {
        let now = ContinuousClock.now
        if let at = keys.withLock({ $0.loadedAt }), now - at < age { return }
        let rows = try await pool.query(APIQueries.signingKeys)
        var byID: [String: [UInt8]] = [:]
        var current: String?
        for r in rows {
            let kid = try r.decode(0, as: String.self)
            byID[kid] = try r.decode(1, as: [UInt8].self)
            if current == nil, try !r.decode(2, as: Bool.self) { current = kid }
        }
        keys.withLock { $0 = (byID, current, now) }
    }
}
