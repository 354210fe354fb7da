#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The claims of a verified JWT.
///
/// Names are looked up verbatim at the top level of the payload, so
/// provider-specific names such as Cognito's `custom:tenant` or
/// `cognito:groups` work as written; there is no path syntax.
public struct JWTClaims: Sendable {
    /// Every claim of the payload.
    public let all: [String: JWTClaimValue]
    /// The algorithm the token was signed with.
    public let algorithm: JWTAlgorithm
    /// The header's `kid`, if any.
    public let keyID: String?

    /// Claims as they would be after verification; for tests and for code
    /// that builds an identity by other means.
    public init(_ all: [String: JWTClaimValue], algorithm: JWTAlgorithm = .rs256, keyID: String? = nil) {
        self.all = all
        self.algorithm = algorithm
        self.keyID = keyID
    }

    /// The raw value of the claim `name`.
    public subscript(_ name: String) -> JWTClaimValue? { all[name] }

    /// The claim `name` if it is a string.
    public func string(_ name: String) -> String? { all[name]?.stringValue }

    /// The claim `name` if it is a number.
    public func number(_ name: String) -> Double? { all[name]?.numberValue }

    /// The claim `name` if it is `true` or `false`.
    public func bool(_ name: String) -> Bool? { all[name]?.boolValue }

    /// The claim `name` as a list of strings: an array's string elements, or
    /// a string split on spaces (the OAuth `scope` form). Empty if the claim
    /// is absent or of another type.
    public func strings(_ name: String) -> [String] {
        switch all[name] {
        case .string(let value): value.split(separator: " ").map(String.init)
        case .array(let values): values.compactMap(\.stringValue)
        default: []
        }
    }

    /// The claim `name` as a NumericDate (seconds since the epoch).
    public func date(_ name: String) -> Date? {
        number(name).map { Date(timeIntervalSince1970: $0) }
    }

    /// `sub`: who the token is about.
    public var subject: String? { string("sub") }
    /// `iss`: who issued the token.
    public var issuer: String? { string("iss") }
    /// `aud` as a list; a single string audience is one element (not split).
    public var audience: [String] {
        switch all["aud"] {
        case .string(let value): [value]
        case .array(let values): values.compactMap(\.stringValue)
        default: []
        }
    }
    /// `exp`: when the token stops being valid.
    public var expiresAt: Date? { date("exp") }
    /// `nbf`: when the token starts being valid.
    public var notBefore: Date? { date("nbf") }
    /// `iat`: when the token was issued.
    public var issuedAt: Date? { date("iat") }
    /// The OAuth scopes: `scope` (space-separated, RFC 8693), or else `scp`
    /// (the array or string form used by Okta and Microsoft Entra).
    public var scopes: [String] {
        all["scope"] != nil ? strings("scope") : strings("scp")
    }
}
