import Foundation
import Testing
@testable import JobGateCrypto

struct JWTVerifierTests {
    @Test(arguments: JWTAlgorithm.allCases)
    func signedTokenVerifies(algorithm: JWTAlgorithm) throws {
        let signer = try JWTSigner(generating: algorithm, keyID: "k1")
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims(["custom:tenant": "acme"]))
        let claims = try verifier.verify(token, now: testNow)
        #expect(claims.subject == "user-1")
        #expect(claims.issuer == "https://issuer.test")
        #expect(claims.audience == ["jobgate"])
        #expect(claims.string("custom:tenant") == "acme")
        #expect(claims.algorithm == algorithm)
        #expect(claims.keyID == "k1")
        #expect(claims.expiresAt == testNow + 300)
    }

    @Test func es256SignatureIsRaw64Bytes() throws {
        let signer = try JWTSigner(generating: .es256)
        let token = try signer.sign(validClaims())
        let signature = try #require(Base64URL.decode(token.split(separator: ".")[2]))
        #expect(signature.count == 64)
        #expect(try signer.signature(for: Array("x".utf8)).count == 64)
    }

    @Test(arguments: JWTAlgorithm.allCases)
    func tamperedPayloadIsBadSignature(algorithm: JWTAlgorithm) throws {
        let signer = try JWTSigner(generating: algorithm)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims())
        let forged = Base64URL.encode(JWTClaimValue.serialize(validClaims(["sub": "admin"])))
        #expect(verifyError(verifier, replacingSegment(token, 1, with: forged)) == .badSignature)
    }

    @Test(arguments: JWTAlgorithm.allCases)
    func tamperedSignatureIsBadSignature(algorithm: JWTAlgorithm) throws {
        let signer = try JWTSigner(generating: algorithm)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims())
        var signature = try #require(Base64URL.decode(token.split(separator: ".")[2]))
        signature[signature.count / 2] ^= 0x01
        #expect(verifyError(verifier, replacingSegment(token, 2, with: Base64URL.encode(signature))) == .badSignature)
        // Truncated and empty signatures are refused too, not crashed on.
        #expect(verifyError(verifier, replacingSegment(token, 2, with: Base64URL.encode(signature.dropLast()))) == .badSignature)
        #expect(verifyError(verifier, replacingSegment(token, 2, with: "")) == .badSignature)
    }

    @Test(arguments: JWTAlgorithm.allCases)
    func differentKeyWithSameKeyIDIsBadSignature(algorithm: JWTAlgorithm) throws {
        let trusted = try JWTSigner(generating: algorithm, keyID: "shared")
        let impostor = try JWTSigner(generating: algorithm, keyID: "shared")
        let verifier = try makeVerifier(trusted)
        #expect(verifyError(verifier, try impostor.sign(validClaims())) == .badSignature)
    }

    @Test func unknownKeyIDIsUnknownKey() throws {
        let trusted = try JWTSigner(generating: .es256, keyID: "known")
        let other = try JWTSigner(generating: .es256, keyID: "unknown")
        let verifier = try makeVerifier(trusted)
        #expect(verifyError(verifier, try other.sign(validClaims())) == .unknownKey)
    }

    @Test func keyOfOtherTypeWithSameKeyIDIsUnknownKey() throws {
        // An RS256 token naming an EC key must not be checked against it.
        let ecKey = try JWTSigner(generating: .es256, keyID: "same")
        let rsaKey = try JWTSigner(generating: .rs256, keyID: "same")
        let verifier = try makeVerifier(ecKey)
        #expect(verifyError(verifier, try rsaKey.sign(validClaims())) == .unknownKey)
    }

    @Test func tokenWithoutKeyIDUsesTheOnlyKeyOfItsType() throws {
        let signer = try JWTSigner(generating: .es256)
        let rsa = try JWTSigner(generating: .rs256)
        let header = #"{"alg":"ES256"}"#
        let payload = String(decoding: JWTClaimValue.serialize(validClaims()), as: UTF8.self)
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let token = input + "." + Base64URL.encode(try signer.signature(for: Array(input.utf8)))
        // One EC key (plus an RSA key that does not fit ES256): unambiguous.
        #expect(try makeVerifier(signer, rsa).verify(token, now: testNow).subject == "user-1")
        // Two EC keys: no guessing.
        let second = try JWTSigner(generating: .es256)
        #expect(verifyError(try makeVerifier(signer, second), token) == .unknownKey)
    }

    @Test func expiredTokenIsExpired() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims(["exp": .date(testNow - 120)]))
        #expect(verifyError(verifier, token) == .expired)
    }

    @Test func expiryWithinLeewayIsAccepted() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims(["exp": .date(testNow - 30), "nbf": .date(testNow + 30)]))
        #expect(verifyError(verifier, token) == nil)
        var strict = verifier
        strict.leeway = 0
        #expect(verifyError(strict, token) == .expired)
    }

    @Test func futureNotBeforeIsNotYetValid() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims(["nbf": .date(testNow + 600)]))
        #expect(verifyError(verifier, token) == .notYetValid)
    }

    @Test func missingExpiryIsRefusedUnlessAllowed() throws {
        let signer = try JWTSigner(generating: .es256)
        var verifier = try makeVerifier(signer)
        var claims = validClaims()
        claims["exp"] = nil
        let token = try signer.sign(claims)
        #expect(verifyError(verifier, token) == .missingClaim("exp"))
        verifier.requiresExpiration = false
        #expect(verifyError(verifier, token) == nil)
    }

    @Test func wrongIssuerIsWrongIssuer() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        #expect(verifyError(verifier, try signer.sign(validClaims(["iss": "https://evil.test"]))) == .wrongIssuer)
        var claims = validClaims()
        claims["iss"] = nil
        #expect(verifyError(verifier, try signer.sign(claims)) == .wrongIssuer)
    }

    @Test func wrongAudienceIsWrongAudience() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        #expect(verifyError(verifier, try signer.sign(validClaims(["aud": "other"]))) == .wrongAudience)
        #expect(verifyError(verifier, try signer.sign(validClaims(["aud": ["a", "b"]]))) == .wrongAudience)
        var claims = validClaims()
        claims["aud"] = nil
        #expect(verifyError(verifier, try signer.sign(claims)) == .wrongAudience)
    }

    @Test func audienceArrayContainingExpectedValueIsAccepted() throws {
        let signer = try JWTSigner(generating: .rs256)
        let verifier = try makeVerifier(signer)
        let claims = try verifier.verify(try signer.sign(validClaims(["aud": ["other", "jobgate"]])), now: testNow)
        #expect(claims.audience == ["other", "jobgate"])
    }

    @Test func unconfiguredIssuerAndAudienceAreNotChecked() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer, issuer: nil, audience: nil)
        #expect(verifyError(verifier, try signer.sign(validClaims(["iss": "x", "aud": "y"]))) == nil)
    }

    @Test func algNoneIsRejected() throws {
        let signer = try JWTSigner(generating: .rs256, keyID: "k1")
        let verifier = try makeVerifier(signer)
        let payload = String(decoding: JWTClaimValue.serialize(validClaims()), as: UTF8.self)
        #expect(verifyError(verifier, rawToken(header: #"{"alg":"none","kid":"k1"}"#, payload: payload)) == .unsupportedAlgorithm)
        #expect(verifyError(verifier, rawToken(header: #"{"alg":"none"}"#, payload: payload)) == .unsupportedAlgorithm)
    }

    @Test func hs256IsRejectedEvenWhenKeyedWithThePublicKey() throws {
        // The algorithm-confusion attack: HMAC keyed with public key material.
        let signer = try JWTSigner(generating: .rs256, keyID: "k1")
        let verifier = try makeVerifier(signer)
        let header = #"{"alg":"HS256","kid":"k1"}"#
        let payload = String(decoding: JWTClaimValue.serialize(validClaims()), as: UTF8.self)
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let modulus = try #require(signer.publicJWK["n"])
        let key = try #require(Base64URL.decode(modulus))
        let token = input + "." + Base64URL.encode(HMACSHA256.authenticate(key: key, message: input))
        #expect(verifyError(verifier, token) == .unsupportedAlgorithm)
        #expect(verifyError(verifier, rawToken(header: #"{"alg":"RS512"}"#, payload: payload)) == .unsupportedAlgorithm)
        #expect(verifyError(verifier, rawToken(header: #"{"alg":"rs256"}"#, payload: payload)) == .unsupportedAlgorithm)
    }

    @Test func malformedTokensAreMalformed() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims())
        for bad in ["", "abc", "a.b", "a.b.c.d", "!!.e30.", replacingSegment(token, 0, with: Base64URL.encode("[1]")),
                    rawToken(header: #"{"kid":"k"}"#, payload: "{}"),
                    rawToken(header: #"{"alg":"ES256","crit":["exp"]}"#, payload: "{}"),
                    String(repeating: "a", count: JWTVerifier.maximumTokenLength + 1)] {
            guard case .malformed = verifyError(verifier, bad) else {
                Issue.record("expected malformed for \(bad.prefix(60))")
                continue
            }
        }
    }

    @Test func signedButNonNumericExpiryIsMalformed() throws {
        let signer = try JWTSigner(generating: .es256)
        let verifier = try makeVerifier(signer)
        let token = try signer.sign(validClaims(["exp": "tomorrow"]))
        #expect(verifyError(verifier, token) == .malformed(reason: "exp is not a number"))
    }

    @Test func errorDescriptionsNeverContainTheToken() throws {
        let signer = try JWTSigner(generating: .es256, keyID: "k1")
        let verifier = try makeVerifier(signer)
        let tokens = [
            try signer.sign(validClaims(["exp": .date(testNow - 999)])),
            try signer.sign(validClaims(["iss": "https://evil.test"])),
            try signer.sign(validClaims(["aud": "evil-aud"])),
            try JWTSigner(generating: .es256, keyID: "evil-kid").sign(validClaims()),
            rawToken(header: #"{"alg":"evil-alg"}"#, payload: "{}"),
        ]
        for token in tokens {
            let error = try #require(verifyError(verifier, token))
            let texts = [error.description, String(describing: error), String(reflecting: error), error.localizedDescription]
            for text in texts {
                #expect(!text.contains(token))
                for segment in token.split(separator: ".") where segment.count > 3 {
                    #expect(!text.contains(segment))
                }
                #expect(!text.contains("evil"))
            }
        }
    }

    @Test func scopeClaimSplitsIntoScopes() throws {
        let signer = try JWTSigner(generating: .rs256)
        let verifier = try makeVerifier(signer)
        let claims = try verifier.verify(
            try signer.sign(validClaims(["scope": "jobs:read jobs:submit", "cognito:groups": ["ops", "dev"]])),
            now: testNow
        )
        #expect(claims.strings("scope") == ["jobs:read", "jobs:submit"])
        #expect(claims.scopes == ["jobs:read", "jobs:submit"])
        #expect(claims.strings("cognito:groups") == ["ops", "dev"])
        #expect(claims.strings("absent").isEmpty)
        #expect(claims.string("scope") == "jobs:read jobs:submit")
    }

    @Test func scpArrayIsUsedWhenScopeIsAbsent() {
        let claims = JWTClaims(["scp": ["jobs:read", "admin"]])
        #expect(claims.scopes == ["jobs:read", "admin"])
    }
}
