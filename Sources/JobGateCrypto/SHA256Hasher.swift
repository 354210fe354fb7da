import CCrypto

/// An incremental SHA-256, for content too large to hold in memory at once
/// (job outputs streamed to `JOBGATE_OUTPUT_DIR`).
///
/// Not `Sendable`: it owns a mutable `EVP_MD_CTX`; use it from one task.
public final class SHA256Hasher {
    private let context: OpaquePointer
    private var finished = false

    /// A hasher with nothing fed yet.
    public init() {
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed (out of memory)") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            EVP_MD_CTX_free(context)
            fatalError("EVP_DigestInit_ex(SHA-256) failed")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// Feeds more bytes into the digest.
    public func update(_ bytes: some Collection<UInt8>) {
        precondition(!finished, "SHA256Hasher.update after finalize")
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(buffer: UnsafeRawBufferPointer($0)) }
        if done == nil {
            Array(bytes).withUnsafeBytes { update(buffer: $0) }
        }
    }

    private func update(buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        precondition(EVP_DigestUpdate(context, base, buffer.count) == 1, "EVP_DigestUpdate failed")
    }

    /// The digest of everything fed so far; the hasher cannot be used after.
    public func finalize() -> [UInt8] {
        precondition(!finished, "SHA256Hasher.finalize called twice")
        finished = true
        var digest = [UInt8](repeating: 0, count: SHA256.digestLength)
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        precondition(ok == 1 && length == UInt32(SHA256.digestLength), "EVP_DigestFinal_ex failed")
        return digest
    }
}
