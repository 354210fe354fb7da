import Foundation
import JobGateCore
import JobGateSystem
import Testing
@testable import JobGateCrypto

/// The `openssl` executable on PATH, if any.
let opensslPath: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
    .split(separator: ":")
    .map { "\($0)/openssl" }
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// Tokens signed and keys made by the `openssl` command line, an
/// implementation independent of our code paths. Without the tool the suite
/// shows as skipped with its reason (the RFC 7515 vectors still cover
/// foreign signatures); it is never silently passed.
@Suite(.enabled(if: opensslPath != nil, "openssl command line not found on PATH"))
struct OpenSSLInteropTests {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("jobgate-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Runs openssl with `arguments` in the scratch directory; its stdout.
    @discardableResult
    func openssl(_ arguments: String...) async throws -> Data {
        // posix_spawn + waitpid (JobGateCore.Spawn), not Foundation's Process: its exit
        // notification was seen to miss exits here and hang a cooperative thread for good.
        let quoted = ([try #require(opensslPath)] + arguments).map { "'" + $0 + "'" }.joined(separator: " ")
        let out = directory.appendingPathComponent("stdout-\(UUID().uuidString.prefix(8))").path
        let pid = try Spawn.start(["/bin/sh", "-c", "cd '\(directory.path)' && exec \(quoted) 2>/dev/null"], outputPath: out)
        // Waited for on a thread of its own: RSA key generation under load can take seconds,
        // and blocking one of the cooperative pool's two threads would stall other suites.
        let status = (try? await onOwnThread { Spawn.wait(pid) }) ?? -1
        try #require(status == 0, "openssl \(arguments.joined(separator: " ")) failed")
        defer { unlink(out) }
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    func write(_ name: String, _ bytes: some Sequence<UInt8>) throws {
        try Data(bytes).write(to: directory.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    func signingInput(alg: String, kid: String) -> String {
        let header = #"{"alg":"\#(alg)","kid":"\#(kid)","typ":"JWT"}"#
        let payload = String(decoding: JWTClaimValue.serialize(validClaims(["scope": "jobs:read"])), as: UTF8.self)
        return Base64URL.encode(header) + "." + Base64URL.encode(payload)
    }

    @Test func rs256TokenSignedByOpenSSLVerifies() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem")
        // n from `-modulus` (hex), e from the text dump, e.g. "publicExponent: 65537 (0x10001)".
        let modulusLine = String(decoding: try await openssl("rsa", "-in", "key.pem", "-noout", "-modulus"), as: UTF8.self)
        let modulus = try #require(Hex.decode(modulusLine.trimmingCharacters(in: .whitespacesAndNewlines).dropFirst("Modulus=".count)))
        let text = String(decoding: try await openssl("rsa", "-in", "key.pem", "-noout", "-text"), as: UTF8.self)
        let exponentLine = try #require(text.split(separator: "\n").first { $0.hasPrefix("publicExponent:") })
        let exponentField = try #require(exponentLine.split(separator: " ").dropFirst().first)
        let exponentDecimal = try #require(UInt64(exponentField))
        let exponent = withUnsafeBytes(of: exponentDecimal.bigEndian) { Array($0.drop { $0 == 0 }) }
        #expect(modulus.count == 256)

        let input = signingInput(alg: "RS256", kid: "cli-rsa")
        try write("input.txt", input.utf8)
        try await openssl("dgst", "-sha256", "-sign", "key.pem", "-out", "sig.bin", "input.txt")
        let token = input + "." + Base64URL.encode(try read("sig.bin"))

        let jwks = try JWKS(json: #"{"keys":[{"kty":"RSA","kid":"cli-rsa","n":"\#(Base64URL.encode(modulus))","e":"\#(Base64URL.encode(exponent))"}]}"#)
        let verifier = JWTVerifier(jwks: jwks, issuer: "https://issuer.test", audience: "jobgate")
        let claims = try verifier.verify(token, now: testNow)
        #expect(claims.scopes == ["jobs:read"])
        #expect(verifyError(verifier, replacingSegment(token, 1, with: Base64URL.encode("{}"))) == .badSignature)

        // The same key loaded into JWTSigner publishes the same n and e.
        let signer = try JWTSigner(privateKeyPEM: String(decoding: try read("key.pem"), as: UTF8.self))
        #expect(signer.publicJWK["n"] == Base64URL.encode(modulus))
        #expect(signer.publicJWK["e"] == Base64URL.encode(exponent))
    }

    @Test func es256TokenSignedByOpenSSLVerifies() async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        try await openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "key.pem")
        // A P-256 SubjectPublicKeyInfo ends with the 65-byte point 04||x||y.
        let spki = [UInt8](try await openssl("pkey", "-in", "key.pem", "-pubout", "-outform", "DER"))
        let point = Array(spki.suffix(65))
        #expect(point.first == 0x04)
        let x = Array(point[1..<33])
        let y = Array(point[33..<65])

        let input = signingInput(alg: "ES256", kid: "cli-ec")
        try write("input.txt", input.utf8)
        // openssl emits DER; JWS wants r||s.
        try await openssl("dgst", "-sha256", "-sign", "key.pem", "-out", "sig.der", "input.txt")
        let raw = try ecdsaDERToRaw(try read("sig.der"))
        let token = input + "." + Base64URL.encode(raw)

        let jwks = try JWKS(json: #"{"keys":[{"kty":"EC","crv":"P-256","kid":"cli-ec","x":"\#(Base64URL.encode(x))","y":"\#(Base64URL.encode(y))"}]}"#)
        let verifier = JWTVerifier(jwks: jwks, issuer: "https://issuer.test", audience: "jobgate")
        #expect(try verifier.verify(token, now: testNow).subject == "user-1")
        // A DER signature where r||s is expected is refused, not misparsed.
        #expect(verifyError(verifier, input + "." + Base64URL.encode(try read("sig.der"))) == .badSignature)
    }

    @Test(arguments: JWTAlgorithm.allCases)
    func openSSLVerifiesJWTSignerSignatures(algorithm: JWTAlgorithm) async throws {
        defer { try? FileManager.default.removeItem(at: directory) }
        let signer = try JWTSigner(generating: algorithm)
        try write("key.pem", try signer.privateKeyPEM().utf8)
        try await openssl("pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
        let token = try signer.sign(validClaims())
        let parts = token.split(separator: ".")
        try write("input.txt", "\(parts[0]).\(parts[1])".utf8)
        var signature = try #require(Base64URL.decode(parts[2]))
        if algorithm == .es256 {
            signature = try #require(ecdsaRawToDER(signature))
        }
        try write("sig.bin", signature)
        let result = try await openssl("dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", "input.txt")
        #expect(String(decoding: result, as: UTF8.self).contains("Verified OK"))
    }
}
