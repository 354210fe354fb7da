#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Checks bearer JWTs from an OIDC provider (Cognito, Keycloak, Auth0…)
/// against its JWKS, issuer and audience.
///
/// Only RS256 and ES256 are accepted, whatever the token's header says:
/// `none` and the HMAC algorithms are refused, which rules out the classic
/// algorithm-confusion attacks. Header fields that point elsewhere for keys
/// (`jku`, `x5u`, `jwk`) are ignored; only the configured JWKS is trusted.
public struct JWTVerifier: Sendable {
    /// The largest token accepted, so a hostile header cannot make the
    /// server parse megabytes of JSON before the signature check fails.
    public static let maximumTokenLength = 16 * 1024

    /// The keys tokens must be signed with.
    public var jwks: JWKS
    /// The required `iss`, or nil to accept any issuer.
    public var issuer: String?
    /// A value `aud` must equal or contain, or nil to skip the check.
    public var audience: String?
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    public var leeway: TimeInterval
    /// Whether a token without `exp` is refused (it would never expire).
    public var requiresExpiration: Bool

    /// A verifier for tokens signed by a key in `jwks`.
    public init(
        jwks: JWKS,
        issuer: String? = nil,
        audience: String? = nil,
        leeway: TimeInterval = 60,
        requiresExpiration: Bool = true
    ) {
        self.jwks = jwks
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.requiresExpiration = requiresExpiration
    }

    /// The claims of `token` if its signature, time window, issuer and
    /// audience are all acceptable at `now`.
    ///
    /// The signature is checked before any claim is looked at, so an
    /// unsigned or forged token only ever yields a signature-level error.
    public func verify(_ token: String, now: Date = Date()) throws(JWTError) -> JWTClaims {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maximumTokenLength else { throw .malformed(reason: "token too long") }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3 else { throw .malformed(reason: "expected three dot-separated segments") }

        guard let headerBytes = Base64URL.decode(String(decoding: segments[0], as: UTF8.self)),
              let header = JWTClaimValue.parseObject(headerBytes)
        else { throw .malformed(reason: "header is not base64url JSON") }
        guard let algorithmName = header["alg"]?.stringValue else { throw .malformed(reason: "header lacks alg") }
        guard let algorithm = JWTAlgorithm(rawValue: algorithmName) else { throw .unsupportedAlgorithm }
        // RFC 7515 §4.1.11: extensions marked critical that we do not
        // understand (we understand none) make the token unusable.
        guard header["crit"] == nil else { throw .malformed(reason: "unsupported critical header") }
        let keyID: String?
        switch header["kid"] {
        case nil: keyID = nil
        case .string(let value): keyID = value
        default: throw .malformed(reason: "kid is not a string")
        }
        guard let key = jwks.key(for: algorithm, keyID: keyID) else { throw .unknownKey }

        guard let signature = Base64URL.decode(String(decoding: segments[2], as: UTF8.self)) else {
            throw .malformed(reason: "signature is not base64url")
        }
        // The signing input is the header and payload exactly as sent.
        let signingInput = bytes[..<segments[1].endIndex]
        guard key.verificationKey.verify(signature: signature, message: signingInput) else { throw .badSignature }

        guard let payloadBytes = Base64URL.decode(String(decoding: segments[1], as: UTF8.self)),
              let payload = JWTClaimValue.parseObject(payloadBytes)
        else { throw .malformed(reason: "payload is not base64url JSON") }
        let claims = JWTClaims(payload, algorithm: algorithm, keyID: keyID)
        try checkTimes(claims, now: now)
        try checkIssuerAndAudience(claims)
        return claims
    }

    private func checkTimes(_ claims: JWTClaims, now: Date) throws(JWTError) {
        let current = now.timeIntervalSince1970
        switch claims["exp"] {
        case nil:
            if requiresExpiration { throw .missingClaim("exp") }
        case .number(let expiry):
            // RFC 7519 §4.1.4: valid only strictly before exp.
            if current >= expiry + leeway { throw .expired }
        default:
            throw .malformed(reason: "exp is not a number")
        }
        switch claims["nbf"] {
        case nil:
            break
        case .number(let notBefore):
            if current + leeway < notBefore { throw .notYetValid }
        default:
            throw .malformed(reason: "nbf is not a number")
        }
    }

    private func checkIssuerAndAudience(_ claims: JWTClaims) throws(JWTError) {
        if let issuer, claims["iss"]?.stringValue != issuer { throw .wrongIssuer }
        if let audience {
            switch claims["aud"] {
            case .string(let value):
                if value != audience { throw .wrongAudience }
            case .array(let values):
                if !values.contains(.string(audience)) { throw .wrongAudience }
            default:
                throw .wrongAudience
            }
        }
    }
}
