import CCrypto

/// SHA-256 over libcrypto, for output checksums, ETags and token hashing.
public enum SHA256 {
    /// The digest length in bytes.
    public static let digestLength = 32

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        // Contiguous collections (Array, Data, slices) are hashed in place;
        // anything else is copied once so EVP sees one buffer.
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(buffer: UnsafeRawBufferPointer($0)) }) {
            return digest
        }
        return Array(bytes).withUnsafeBytes { hash(buffer: $0) }
    }

    /// The SHA-256 digest of the UTF-8 encoding of `string`.
    public static func hash(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { hash(buffer: UnsafeRawBufferPointer($0)) }
    }

    private static func hash(buffer: UnsafeRawBufferPointer) -> [UInt8] {
        evpDigest(buffer, EVP_sha256(), length: digestLength, name: "SHA-256")
    }
}

/// The one-shot EVP digest `md` of `buffer`, `length` bytes long.
func evpDigest(_ buffer: UnsafeRawBufferPointer, _ md: OpaquePointer?, length digestLength: Int, name: String) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: digestLength)
    var length: UInt32 = 0
    // An empty buffer may have a nil base address; EVP wants a valid pointer.
    let ok = withNonNilBase(buffer) { base, count in
        digest.withUnsafeMutableBufferPointer { out in
            EVP_Digest(base, count, out.baseAddress, &length, md, nil)
        }
    }
    // EVP_Digest with a built-in digest only fails on allocation failure,
    // which Swift treats as fatal everywhere else too.
    precondition(ok == 1 && length == UInt32(digestLength), "EVP_Digest(\(name)) failed")
    return digest
}

/// Calls `body` with a non-nil base address even for an empty buffer, since
/// several OpenSSL functions reject NULL even when the length is zero.
func withNonNilBase<R>(
    _ buffer: UnsafeRawBufferPointer,
    _ body: (UnsafeRawPointer, Int) throws -> R
) rethrows -> R {
    if let base = buffer.baseAddress {
        return try body(base, buffer.count)
    }
    var zero: UInt8 = 0
    return try withUnsafePointer(to: &zero) { try body(UnsafeRawPointer($0), 0) }
}
