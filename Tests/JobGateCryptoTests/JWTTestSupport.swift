import Foundation
@testable import JobGateCrypto

/// A fixed clock so expiry tests do not depend on when they run.
let testNow = Date(timeIntervalSince1970: 1_750_000_000)

/// Claims valid at `testNow` for the test issuer and audience.
func validClaims(_ extra: [String: JWTClaimValue] = [:]) -> [String: JWTClaimValue] {
    var claims: [String: JWTClaimValue] = [
        "iss": "https://issuer.test",
        "aud": "jobgate",
        "sub": "user-1",
        "iat": .date(testNow - 10),
        "exp": .date(testNow + 300),
    ]
    claims.merge(extra) { _, new in new }
    return claims
}

/// A verifier for `signers`' public keys with the test issuer and audience.
func makeVerifier(_ signers: JWTSigner..., issuer: String? = "https://issuer.test", audience: String? = "jobgate") throws -> JWTVerifier {
    let keys = signers.map { JWTClaimValue.object($0.publicJWK.mapValues { .string($0) }) }
    let json = JWTClaimValue.serialize(["keys": .array(keys)])
    let jwks = try JWKS(json: json)
    return JWTVerifier(jwks: jwks, issuer: issuer, audience: audience)
}

/// A compact JWS with arbitrary header and payload JSON and signature bytes,
/// for tokens JWTSigner would never produce.
func rawToken(header: String, payload: String, signature: [UInt8] = []) -> String {
    Base64URL.encode(header) + "." + Base64URL.encode(payload) + "." + Base64URL.encode(signature)
}

/// `token` with its segment `index` (0 header, 1 payload, 2 signature) replaced.
func replacingSegment(_ token: String, _ index: Int, with segment: String) -> String {
    var parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    parts[index] = segment
    return parts.joined(separator: ".")
}

/// The error `verify` throws, or nil if it accepts the token.
func verifyError(_ verifier: JWTVerifier, _ token: String, now: Date = testNow) -> JWTError? {
    do {
        _ = try verifier.verify(token, now: now)
        return nil
    } catch {
        return error
    }
}
