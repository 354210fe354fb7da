import CCrypto

/// Comparisons whose running time does not depend on where inputs differ, so
/// a MAC or token check does not leak how much of a guess was right.
public enum ConstantTime {
    /// Whether `a` and `b` hold the same bytes.
    ///
    /// Lengths are compared first and a mismatch returns false without looking
    /// at the contents; lengths of MACs and token hashes are public anyway.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { aBuffer in
            b.withUnsafeBytes { bBuffer in
                CRYPTO_memcmp(aBuffer.baseAddress, bBuffer.baseAddress, aBuffer.count) == 0
            }
        }
    }

    /// Whether the UTF-8 encodings of `a` and `b` are equal (for hex or
    /// base64url signatures taken from a request).
    public static func equals(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }
}
