import Foundation
import Testing
@testable import JobGateCrypto

/// RFC 7515 Appendix A vectors: tokens and keys produced by other
/// implementations, so verification is not only checked against our signer.
enum RFC7515 {
    static let payloadSegment = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    /// Appendix A.2: RS256, header {"alg":"RS256"}.
    static let rs256Token = "eyJhbGciOiJSUzI1NiJ9." + payloadSegment
        + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
    static let rsaJWK = #"{"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"}"#
    /// Appendix A.3: ES256, header {"alg":"ES256"}.
    static let es256Token = "eyJhbGciOiJFUzI1NiJ9." + payloadSegment
        + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
    static let ecJWK = #"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    /// Before the vectors' `exp` (1300819380).
    static let now = Date(timeIntervalSince1970: 1_300_819_000)
}

struct JWKSTests {
    @Test func verifiesRFC7515RS256Vector() throws {
        let verifier = JWTVerifier(jwks: try JWKS(json: #"{"keys":[\#(RFC7515.rsaJWK)]}"#))
        let claims = try verifier.verify(RFC7515.rs256Token, now: RFC7515.now)
        #expect(claims.issuer == "joe")
        #expect(claims.bool("http://example.com/is_root") == true)
        #expect(claims.number("exp") == 1_300_819_380)
        #expect(verifyError(verifier, RFC7515.rs256Token, now: Date()) == .expired)
    }

    @Test func verifiesRFC7515ES256Vector() throws {
        let verifier = JWTVerifier(jwks: try JWKS(json: #"{"keys":[\#(RFC7515.ecJWK)]}"#))
        #expect(try verifier.verify(RFC7515.es256Token, now: RFC7515.now).issuer == "joe")
        // The RS256 vector's signature does not fit the EC key's algorithm.
        #expect(verifyError(verifier, RFC7515.rs256Token, now: RFC7515.now) == .unknownKey)
    }

    @Test func unusableKeysAreSkipped() throws {
        let json = """
        {"keys":[
          {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
          {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
          {"kty":"EC","crv":"P-384","x":"AA","y":"AA"},
          {"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},
          {"kty":"RSA","alg":"RS512","n":"AQAB","e":"AQAB"},
          {"kty":"RSA","kid":"short","n":"\(Base64URL.encode([0xC1] + [UInt8](repeating: 0x5A, count: 126) + [0x8F]))","e":"AQAB"},
          {"kty":"EC","crv":"P-256","kid":"off-curve","x":"\(Base64URL.encode([UInt8](repeating: 1, count: 32)))","y":"\(Base64URL.encode([UInt8](repeating: 2, count: 32)))"},
          {"kty":"RSA","kid":"bad-b64","n":"a+b","e":"AQAB"},
          "not an object",
          \(RFC7515.ecJWK)
        ]}
        """
        let jwks = try JWKS(json: json)
        #expect(jwks.keys.count == 1)
        #expect(jwks.keys.first?.algorithm == .es256)
        // Only keys that looked usable but were broken are reported.
        #expect(jwks.skipped.count == 4)
        #expect(jwks.skipped.contains { $0.contains("short") })
        #expect(jwks.skipped.contains { $0.contains("off-curve") })
        #expect(jwks.skipped.contains { $0.contains("bad-b64") })
    }

    @Test func invalidDocumentsThrow() {
        #expect(throws: JWKS.ParseError.notJSONObject) { try JWKS(json: "not json") }
        #expect(throws: JWKS.ParseError.notJSONObject) { try JWKS(json: "[]") }
        #expect(throws: JWKS.ParseError.missingKeys) { try JWKS(json: #"{"kid":"x"}"#) }
    }

    @Test func signerJWKSRoundTrips() throws {
        let signer = try JWTSigner(generating: .rs256)
        let jwks = try JWKS(json: signer.jwksJSON)
        #expect(jwks.keys.count == 1)
        #expect(jwks.keys.first?.keyID == signer.keyID)
        #expect(signer.publicJWK["e"] == "AQAB")
        // RFC 7638 thumbprints are 32-byte SHA-256 digests in base64url.
        #expect(signer.keyID.count == 43)
    }

    @Test(arguments: JWTAlgorithm.allCases)
    func privateKeyPEMRoundTrips(algorithm: JWTAlgorithm) throws {
        let original = try JWTSigner(generating: algorithm)
        let pem = try original.privateKeyPEM()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try JWTSigner(privateKeyPEM: pem)
        #expect(reloaded.algorithm == algorithm)
        #expect(reloaded.keyID == original.keyID)
        #expect(reloaded.publicJWK == original.publicJWK)
        let verifier = try makeVerifier(original)
        #expect(verifyError(verifier, try reloaded.sign(validClaims())) == nil)
        #expect(throws: CryptoError.self) { try JWTSigner(privateKeyPEM: "not a key") }
    }

    @Test func sharedVerifierWorksFromManyTasks() async throws {
        // Keys are shared across threads (VerificationKey is @unchecked
        // Sendable); hammer one verifier concurrently to back that claim.
        let rsa = try JWTSigner(generating: .rs256)
        let ec = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(rsa, ec)
        let tokens = [try rsa.sign(validClaims()), try ec.sign(validClaims())]
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var failures = 0
                    for round in 0..<50 where verifyError(verifier, tokens[(worker + round) % 2]) != nil {
                        failures += 1
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
