import CCrypto

/// HMAC-SHA256 over libcrypto, for signed output URLs and API token hashing.
public enum HMACSHA256 {
    /// The MAC length in bytes.
    public static let macLength = 32

    /// The HMAC-SHA256 of `message` under `key`.
    public static func authenticate(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let key = Array(key)
        let message = Array(message)
        var mac = [UInt8](repeating: 0, count: macLength)
        var length: UInt32 = 0
        // OpenSSL's one-shot HMAC treats a NULL key as "no key given", so an
        // empty key is passed as a valid pointer with length zero.
        let result = key.withUnsafeBytes { keyBuffer in
            withNonNilBase(keyBuffer) { keyBase, keyCount in
                message.withUnsafeBytes { messageBuffer in
                    withNonNilBase(messageBuffer) { messageBase, messageCount in
                        mac.withUnsafeMutableBufferPointer { out in
                            HMAC(
                                EVP_sha256(), keyBase, Int32(keyCount),
                                messageBase.assumingMemoryBound(to: UInt8.self), messageCount,
                                out.baseAddress, &length
                            )
                        }
                    }
                }
            }
        }
        precondition(result != nil && length == UInt32(macLength), "HMAC(SHA-256) failed")
        return mac
    }

    /// The HMAC-SHA256 of the UTF-8 encoding of `message` under `key`.
    public static func authenticate(key: some Collection<UInt8>, message: String) -> [UInt8] {
        authenticate(key: key, message: Array(message.utf8))
    }
}
