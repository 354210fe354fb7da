import CCrypto

/// A public key imported into OpenSSL, ready to check JWS signatures.
///
/// `@unchecked Sendable` on purpose: the `EVP_PKEY` is never modified after
/// `init`, and OpenSSL 3 allows one key to be used for verification from many
/// threads at once (each call below makes its own `EVP_MD_CTX`). Sharing it
/// lets every request verify against keys parsed once, not per request.
final class VerificationKey: @unchecked Sendable {
    /// The RSA modulus size below which keys are refused (NIST SP 800-131A).
    static let minimumRSABits: Int32 = 2048

    let algorithm: JWTAlgorithm
    private let key: OpaquePointer

    /// An RSA public key from its big-endian modulus and exponent (JWK `n`, `e`).
    convenience init(rsaModulus modulus: [UInt8], exponent: [UInt8]) throws(CryptoError) {
        guard let builder = OSSL_PARAM_BLD_new() else { throw opensslError("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        let n = try makeBignum(modulus)
        defer { BN_free(n) }
        let e = try makeBignum(exponent)
        defer { BN_free(e) }
        // The builder only references names and BIGNUMs; to_param copies them,
        // so everything pushed must stay alive until then (defers run last).
        guard OSSL_PARAM_BLD_push_BN(builder, jg_param_rsa_n(), n) == 1,
              OSSL_PARAM_BLD_push_BN(builder, jg_param_rsa_e(), e) == 1
        else { throw opensslError("OSSL_PARAM_BLD_push_BN") }
        guard let params = OSSL_PARAM_BLD_to_param(builder) else { throw opensslError("OSSL_PARAM_BLD_to_param") }
        defer { OSSL_PARAM_free(params) }
        try self.init(type: "RSA", algorithm: .rs256, params: params)
        guard EVP_PKEY_get_bits(key) >= Self.minimumRSABits else {
            throw CryptoError(operation: "RSA key import", detail: "modulus shorter than \(Self.minimumRSABits) bits")
        }
    }

    /// A P-256 public key from its affine coordinates (JWK `x`, `y`, 32 bytes each).
    convenience init(p256X x: [UInt8], y: [UInt8]) throws(CryptoError) {
        guard x.count == 32, y.count == 32 else {
            throw CryptoError(operation: "EC key import", detail: "P-256 coordinates must be 32 bytes each")
        }
        guard let builder = OSSL_PARAM_BLD_new() else { throw opensslError("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        // SEC 1 uncompressed point: 0x04 || x || y.
        let point: [UInt8] = [0x04] + x + y
        // The builder references the point buffer until to_param copies it,
        // so both happen while the buffer is pinned.
        let params = point.withUnsafeBytes { buffer -> UnsafeMutablePointer<OSSL_PARAM>? in
            guard OSSL_PARAM_BLD_push_utf8_string(builder, jg_param_group_name(), jg_group_p256(), 0) == 1,
                  OSSL_PARAM_BLD_push_octet_string(builder, jg_param_pub_key(), buffer.baseAddress, buffer.count) == 1
            else { return nil }
            return OSSL_PARAM_BLD_to_param(builder)
        }
        guard let params else { throw opensslError("OSSL_PARAM_BLD_to_param") }
        defer { OSSL_PARAM_free(params) }
        try self.init(type: "EC", algorithm: .es256, params: params)
    }

    private init(type: String, algorithm: JWTAlgorithm, params: UnsafeMutablePointer<OSSL_PARAM>) throws(CryptoError) {
        guard let context = EVP_PKEY_CTX_new_from_name(nil, type, nil) else {
            throw opensslError("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1,
              EVP_PKEY_fromdata(context, &key, jg_evp_pkey_public_key_selection(), params) == 1,
              let key
        else { throw opensslError("EVP_PKEY_fromdata") }
        // Rejects points off the curve and degenerate RSA values before the key
        // is ever used, so a hostile JWKS cannot feed OpenSSL odd inputs later.
        guard let checker = EVP_PKEY_CTX_new_from_pkey(nil, key, nil) else {
            EVP_PKEY_free(key)
            throw opensslError("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(checker) }
        guard EVP_PKEY_public_check(checker) == 1 else {
            EVP_PKEY_free(key)
            throw opensslError("EVP_PKEY_public_check")
        }
        self.algorithm = algorithm
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// Whether `signature` (JWS form: PKCS#1 v1.5 bytes for RS256, r||s for
    /// ES256) is valid for `message` under this key with SHA-256.
    func verify(signature: [UInt8], message: some Collection<UInt8>) -> Bool {
        let opensslSignature: [UInt8]
        switch algorithm {
        case .rs256:
            opensslSignature = signature
        case .es256:
            guard let der = ecdsaRawToDER(signature) else { return false }
            opensslSignature = der
        }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        // A failed verification leaves entries in the thread's error queue;
        // clear them so they are not mistaken for a later call's errors.
        defer { ERR_clear_error() }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, key) == 1 else { return false }
        let message = Array(message)
        let result = opensslSignature.withUnsafeBufferPointer { sig in
            message.withUnsafeBytes { tbs in
                withNonNilBase(tbs) { base, count in
                    EVP_DigestVerify(context, sig.baseAddress, sig.count, base.assumingMemoryBound(to: UInt8.self), count)
                }
            }
        }
        // 1 is valid; 0 is a bad signature; negative is an error (e.g. a
        // malformed DER or wrong-size RSA signature) and is treated as invalid.
        return result == 1
    }
}
