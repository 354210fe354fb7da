import CCrypto

/// The JWS algorithms JobGate accepts: asymmetric only, so that holding the
/// JWKS never lets anyone mint tokens.
public enum JWTAlgorithm: String, Sendable, Hashable, CaseIterable {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    case rs256 = "RS256"
    /// ECDSA on P-256 with SHA-256; signatures are raw 64-byte r||s.
    case es256 = "ES256"
}

/// Takes OpenSSL's oldest queued error for `operation` and clears the
/// thread's queue, so stale errors never pile up or get blamed on a later call.
func opensslError(_ operation: String) -> CryptoError {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return CryptoError(operation: operation, detail: "no OpenSSL error queued") }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return CryptoError(operation: operation, detail: text)
}

/// A BIGNUM read from big-endian bytes; the caller frees it (or hands it over).
func makeBignum(_ bytes: [UInt8]) throws(CryptoError) -> OpaquePointer {
    let bignum = bytes.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
    guard let bignum else { throw opensslError("BN_bin2bn") }
    return bignum
}

/// The big-endian bytes of a BIGNUM, left-padded with zeros to `width` if given.
func bignumBytes(_ bignum: OpaquePointer, width: Int? = nil) -> [UInt8] {
    // BN_num_bytes is a macro; this is its definition.
    let length = width ?? Int((BN_num_bits(bignum) + 7) / 8)
    var out = [UInt8](repeating: 0, count: length)
    let written = out.withUnsafeMutableBufferPointer { buffer in
        BN_bn2binpad(bignum, buffer.baseAddress, Int32(length))
    }
    precondition(written == Int32(length), "BN_bn2binpad: value wider than \(length) bytes")
    return out
}

/// Converts a JWS ES256 signature (r||s, 32 bytes each) into the DER
/// `ECDSA-Sig-Value` OpenSSL verifies; nil if it is not 64 bytes.
func ecdsaRawToDER(_ raw: [UInt8]) -> [UInt8]? {
    guard raw.count == 64 else { return nil }
    guard let signature = ECDSA_SIG_new() else { return nil }
    defer { ECDSA_SIG_free(signature) }
    guard let r = try? makeBignum(Array(raw[0..<32])) else { return nil }
    guard let s = try? makeBignum(Array(raw[32..<64])) else {
        BN_free(r)
        return nil
    }
    // On success ECDSA_SIG_set0 owns r and s and frees them with the signature.
    guard ECDSA_SIG_set0(signature, r, s) == 1 else {
        BN_free(r)
        BN_free(s)
        return nil
    }
    let length = i2d_ECDSA_SIG(signature, nil)
    guard length > 0 else { return nil }
    var der = [UInt8](repeating: 0, count: Int(length))
    let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var cursor = buffer.baseAddress
        return i2d_ECDSA_SIG(signature, &cursor)
    }
    return written == length ? der : nil
}

/// Converts OpenSSL's DER ECDSA signature into JWS r||s (32 bytes each).
func ecdsaDERToRaw(_ der: [UInt8]) throws(CryptoError) -> [UInt8] {
    let parsed = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        var cursor = buffer.baseAddress
        return d2i_ECDSA_SIG(nil, &cursor, buffer.count)
    }
    guard let parsed else { throw opensslError("d2i_ECDSA_SIG") }
    defer { ECDSA_SIG_free(parsed) }
    var r: OpaquePointer?
    var s: OpaquePointer?
    // get0: pointers borrowed from the signature, not to be freed.
    ECDSA_SIG_get0(parsed, &r, &s)
    guard let r, let s else { throw CryptoError(operation: "ECDSA_SIG_get0", detail: "missing r or s") }
    return bignumBytes(r, width: 32) + bignumBytes(s, width: 32)
}
