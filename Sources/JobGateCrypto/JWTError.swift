/// Why a JWT was refused.
///
/// Descriptions are fixed texts: they never include the token or any value
/// taken from it, so they are safe to log and to return to a client.
public enum JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The token is not three base64url segments of JSON, or a registered
    /// claim has the wrong type; `reason` is a fixed text naming the part.
    case malformed(reason: String)
    /// The header's `alg` is not RS256 or ES256 (e.g. `none`, `HS256`).
    case unsupportedAlgorithm
    /// No configured key matches the token's `kid` and algorithm.
    case unknownKey
    /// The signature does not verify under the selected key.
    case badSignature
    /// `exp` is in the past, beyond the allowed clock skew.
    case expired
    /// `nbf` is in the future, beyond the allowed clock skew.
    case notYetValid
    /// A claim the verifier requires (such as `exp`) is absent.
    case missingClaim(String)
    /// `iss` is absent or differs from the expected issuer.
    case wrongIssuer
    /// `aud` is absent or does not contain the expected audience.
    case wrongAudience

    /// A short, token-free explanation.
    public var description: String {
        switch self {
        case .malformed(let reason): "malformed token: \(reason)"
        case .unsupportedAlgorithm: "unsupported signing algorithm (only RS256 and ES256 are accepted)"
        case .unknownKey: "no matching signing key"
        case .badSignature: "signature verification failed"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .missingClaim(let name): "token lacks the required claim \(name)"
        case .wrongIssuer: "token issuer not accepted"
        case .wrongAudience: "token audience not accepted"
        }
    }
}

/// An OpenSSL call that failed while building or using a key.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// The OpenSSL function (or step) that failed.
    public var operation: String
    /// OpenSSL's error text, or our own explanation.
    public var detail: String

    /// An error naming the failed step.
    public init(operation: String, detail: String) {
        self.operation = operation
        self.detail = detail
    }

    /// "`operation` failed: `detail`".
    public var description: String { "\(operation) failed: \(detail)" }
}
