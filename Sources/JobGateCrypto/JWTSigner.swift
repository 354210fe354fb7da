import CCrypto

/// Issues RS256/ES256 JWTs from a private key: for tests and for `jobgate`
/// developer commands that need tokens a configured JWKS will accept.
///
/// Production tokens come from the identity provider; this is not a token
/// service (no rotation, no revocation).
///
/// Not `Sendable`: it owns an OpenSSL private key handle; keep one per task.
public final class JWTSigner {
    /// The algorithm tokens are signed with.
    public let algorithm: JWTAlgorithm
    /// The `kid` put in token headers and in the public JWK.
    public let keyID: String
    private let key: OpaquePointer

    /// A signer with a freshly generated key: RSA-2048 for RS256, P-256 for
    /// ES256. Without `keyID`, the RFC 7638 thumbprint of the public key is used.
    public init(generating algorithm: JWTAlgorithm, keyID: String? = nil) throws(CryptoError) {
        let (type, configure): (String, (OpaquePointer) -> Int32) = switch algorithm {
        case .rs256: ("RSA", { EVP_PKEY_CTX_set_rsa_keygen_bits($0, 2048) })
        case .es256: ("EC", { EVP_PKEY_CTX_set_group_name($0, "prime256v1") })
        }
        // EVP_PKEY_Q_keygen is variadic, which Swift cannot call; this is
        // the same thing spelled out.
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw opensslError("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw opensslError("EVP_PKEY_keygen_init") }
        guard configure(context) == 1 else { throw opensslError("keygen parameters") }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(context, &key) == 1, let key else { throw opensslError("EVP_PKEY_generate") }
        self.algorithm = algorithm
        self.key = key
        self.keyID = keyID ?? Self.thumbprint(of: Self.publicMembers(key: key, algorithm: algorithm))
    }

    /// A signer for a PEM private key (PKCS#8 or traditional): RSA of at
    /// least 2048 bits gives RS256, a P-256 EC key gives ES256.
    public init(privateKeyPEM pem: String, keyID: String? = nil) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        let bio = bytes.withUnsafeBytes { BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }
        guard let bio else { throw opensslError("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else { throw opensslError("PEM_read_bio_PrivateKey") }
        let algorithm: JWTAlgorithm
        if EVP_PKEY_is_a(key, "RSA") == 1, EVP_PKEY_get_bits(key) >= VerificationKey.minimumRSABits {
            algorithm = .rs256
        } else if EVP_PKEY_is_a(key, "EC") == 1, Self.groupName(of: key) == "prime256v1" {
            algorithm = .es256
        } else {
            EVP_PKEY_free(key)
            throw CryptoError(operation: "JWTSigner(privateKeyPEM:)", detail: "need an RSA (2048+ bits) or P-256 EC key")
        }
        self.algorithm = algorithm
        self.key = key
        self.keyID = keyID ?? Self.thumbprint(of: Self.publicMembers(key: key, algorithm: algorithm))
    }

    deinit { EVP_PKEY_free(key) }

    /// The private key as PKCS#8 PEM, so a dev setup can keep its key.
    public func privateKeyPEM() throws(CryptoError) -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw opensslError("BIO_new") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PKCS8PrivateKey(bio, key, nil, nil, 0, nil, nil) == 1 else {
            throw opensslError("PEM_write_bio_PKCS8PrivateKey")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = jg_bio_get_mem_data(bio, &data)
        guard let data, length > 0 else { throw opensslError("BIO_get_mem_data") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    /// The public key as a JWK: `kty`, `kid`, `use`, `alg` and `n`/`e` or
    /// `crv`/`x`/`y`, all strings.
    public var publicJWK: [String: String] {
        var members = Self.publicMembers(key: key, algorithm: algorithm)
        members["kid"] = keyID
        members["use"] = "sig"
        members["alg"] = algorithm.rawValue
        return members
    }

    /// A JWKS document (`{"keys":[<publicJWK>]}`) as JSON bytes.
    public var jwksJSON: [UInt8] {
        let jwk = JWTClaimValue.object(publicJWK.mapValues { .string($0) })
        return JWTClaimValue.serialize(["keys": [jwk]])
    }

    /// A compact JWS of `claims`, with header `alg`, `typ: JWT` and `kid`.
    public func sign(_ claims: [String: JWTClaimValue]) throws(CryptoError) -> String {
        let header: [String: JWTClaimValue] = ["alg": .string(algorithm.rawValue), "typ": "JWT", "kid": .string(keyID)]
        let signingInput = Base64URL.encode(JWTClaimValue.serialize(header)) + "."
            + Base64URL.encode(JWTClaimValue.serialize(claims))
        let signature = try signature(for: Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// The JWS signature of `message`: PKCS#1 v1.5 bytes for RS256, raw
    /// r||s (64 bytes) for ES256.
    public func signature(for message: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw opensslError("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestSignInit(context, nil, EVP_sha256(), nil, key) == 1 else {
            throw opensslError("EVP_DigestSignInit")
        }
        // First call sizes the output (an upper bound for ECDSA's DER).
        var length = 0
        let sized = message.withUnsafeBufferPointer { EVP_DigestSign(context, nil, &length, $0.baseAddress, $0.count) }
        guard sized == 1 else { throw opensslError("EVP_DigestSign") }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { out in
            message.withUnsafeBufferPointer { EVP_DigestSign(context, out.baseAddress, &length, $0.baseAddress, $0.count) }
        }
        guard signed == 1 else { throw opensslError("EVP_DigestSign") }
        signature.removeSubrange(length...)
        switch algorithm {
        case .rs256: return signature
        case .es256: return try ecdsaDERToRaw(signature)
        }
    }

    /// The public JWK members that identify the key (RFC 7638's set).
    private static func publicMembers(key: OpaquePointer, algorithm: JWTAlgorithm) -> [String: String] {
        switch algorithm {
        case .rs256:
            return ["kty": "RSA", "n": Base64URL.encode(bignumParameter(key, OSSL_PKEY_PARAM_RSA_N, width: nil)),
                    "e": Base64URL.encode(bignumParameter(key, OSSL_PKEY_PARAM_RSA_E, width: nil))]
        case .es256:
            // JWK coordinates are fixed-width (RFC 7518 §6.2.1.2), hence padding to 32.
            return ["kty": "EC", "crv": "P-256",
                    "x": Base64URL.encode(bignumParameter(key, OSSL_PKEY_PARAM_EC_PUB_X, width: 32)),
                    "y": Base64URL.encode(bignumParameter(key, OSSL_PKEY_PARAM_EC_PUB_Y, width: 32))]
        }
    }

    private static func bignumParameter(_ key: OpaquePointer, _ name: String, width: Int?) -> [UInt8] {
        var value: OpaquePointer?
        // A key we generated or loaded always has its public parameters.
        guard EVP_PKEY_get_bn_param(key, name, &value) == 1, let value else {
            preconditionFailure("EVP_PKEY_get_bn_param(\(name)) failed: \(opensslError("EVP_PKEY_get_bn_param"))")
        }
        defer { BN_free(value) }
        return bignumBytes(value, width: width)
    }

    private static func groupName(of key: OpaquePointer) -> String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, &buffer, buffer.count, &length) == 1 else {
            ERR_clear_error()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// RFC 7638 JWK thumbprint: SHA-256 of the required members as compact
    /// JSON with sorted keys, base64url. Stable for a given public key.
    private static func thumbprint(of members: [String: String]) -> String {
        Base64URL.encode(SHA256.hash(JWTClaimValue.serialize(members.mapValues { .string($0) })))
    }
}
