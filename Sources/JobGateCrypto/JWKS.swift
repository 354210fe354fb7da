/// A JSON Web Key Set (RFC 7517): the public keys an identity provider signs
/// tokens with, as served at its `jwks_uri` or kept in a file.
///
/// Only signature keys JobGate can use are kept: RSA (2048 bits or more, for
/// RS256) and EC P-256 (for ES256). Other key types and curves, symmetric
/// keys and encryption keys are skipped rather than rejected, since providers
/// routinely publish keys for other uses alongside.
public struct JWKS: Sendable {
    /// One usable public key.
    public struct Key: Sendable {
        /// The key's `kid`, if it has one.
        public let keyID: String?
        /// The algorithm the key can verify (from its type).
        public var algorithm: JWTAlgorithm { verificationKey.algorithm }
        let verificationKey: VerificationKey
    }

    /// Why a JWKS document could not be read at all.
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The document is not a JSON object.
        case notJSONObject
        /// The object has no `keys` array.
        case missingKeys

        /// A short explanation.
        public var description: String {
            switch self {
            case .notJSONObject: "JWKS is not a JSON object"
            case .missingKeys: "JWKS has no \"keys\" array"
            }
        }
    }

    /// The usable keys, in document order.
    public let keys: [Key]
    /// One line per key that looked usable but was skipped (bad base64url,
    /// short RSA modulus, point not on the curve…), for the operator's log.
    /// Keys of unsupported types are skipped without a note.
    public let skipped: [String]

    /// Parses a JWKS document (`{"keys":[...]}`).
    public init(json: some Collection<UInt8>) throws(ParseError) {
        guard let document = JWTClaimValue.parseObject(json) else { throw .notJSONObject }
        guard let entries = document["keys"]?.arrayValue else { throw .missingKeys }
        var keys: [Key] = []
        var skipped: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let jwk = entry.objectValue else {
                skipped.append("key \(index): not a JSON object")
                continue
            }
            switch Self.parseKey(jwk) {
            case .usable(let key): keys.append(key)
            case .unsupported: continue
            case .invalid(let reason):
                let name = jwk["kid"]?.stringValue.map { " (kid \($0))" } ?? ""
                skipped.append("key \(index)\(name): \(reason)")
            }
        }
        self.keys = keys
        self.skipped = skipped
    }

    /// Parses a JWKS document from a string.
    public init(json: String) throws(ParseError) {
        try self.init(json: Array(json.utf8))
    }

    /// A set holding exactly `keys`.
    public init(keys: [Key]) {
        self.keys = keys
        self.skipped = []
    }

    /// The key that should verify a token signed with `algorithm` and
    /// carrying `keyID`: the key with that `kid` and a fitting type, or, for
    /// a token without `kid`, the only key of a fitting type.
    func key(for algorithm: JWTAlgorithm, keyID: String?) -> Key? {
        let candidates = keys.filter { $0.algorithm == algorithm }
        if let keyID {
            return candidates.first { $0.keyID == keyID }
        }
        // Without a kid, guessing among several keys would let the token pick
        // any key; only an unambiguous choice is made.
        return candidates.count == 1 ? candidates[0] : nil
    }

    private enum KeyParse {
        case usable(Key)
        case unsupported
        case invalid(String)
    }

    private static func parseKey(_ jwk: [String: JWTClaimValue]) -> KeyParse {
        // Keys published for encryption, or pinned to another algorithm, are
        // not for verifying our tokens.
        if let use = jwk["use"], use.stringValue != "sig" { return .unsupported }
        if let ops = jwk["key_ops"]?.arrayValue, !ops.contains("verify") { return .unsupported }
        let keyID = jwk["kid"]?.stringValue
        let declared = jwk["alg"]?.stringValue
        switch jwk["kty"]?.stringValue {
        case "RSA":
            if let declared, declared != JWTAlgorithm.rs256.rawValue { return .unsupported }
            guard let n = jwk["n"]?.stringValue.flatMap(Base64URL.decode),
                  let e = jwk["e"]?.stringValue.flatMap(Base64URL.decode)
            else { return .invalid("RSA key without valid base64url n and e") }
            do {
                return .usable(Key(keyID: keyID, verificationKey: try VerificationKey(rsaModulus: n, exponent: e)))
            } catch {
                return .invalid(error.description)
            }
        case "EC":
            guard jwk["crv"]?.stringValue == "P-256" else { return .unsupported }
            if let declared, declared != JWTAlgorithm.es256.rawValue { return .unsupported }
            guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode),
                  let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode)
            else { return .invalid("EC key without valid base64url x and y") }
            do {
                return .usable(Key(keyID: keyID, verificationKey: try VerificationKey(p256X: x, y: y)))
            } catch {
                return .invalid(error.description)
            }
        default:
            return .unsupported
        }
    }
}
