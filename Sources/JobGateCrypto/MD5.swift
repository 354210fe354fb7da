import CCrypto

/// MD5 over libcrypto, for protocol compatibility only: Amazon SQS answers a sent message with
/// the MD5 of its body (`MD5OfMessageBody`), which clients of the reference sample may check.
/// Never use it where collisions matter (signatures, tokens, content addressing): MD5 is broken.
public enum MD5 {
    /// The digest length in bytes.
    public static let digestLength = 16

    /// The MD5 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBytes { evpDigest($0, EVP_md5(), length: digestLength, name: "MD5") }
    }
}
