import CCrypto

/// Cryptographically secure random bytes from OpenSSL's CSPRNG.
public enum SecureRandom {
    /// `count` random bytes.
    ///
    /// Traps if `RAND_bytes` fails: that means the system entropy source is
    /// broken, and handing out predictable tokens would be worse than stopping.
    /// (The standard library's `SystemRandomNumberGenerator` makes the same choice.)
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count")
        guard count > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBufferPointer { buffer in
            // RAND_bytes takes an Int32 length; draw in chunks for huge counts.
            var offset = 0
            while offset < buffer.count {
                let chunk = min(buffer.count - offset, Int(Int32.max))
                guard RAND_bytes(buffer.baseAddress! + offset, Int32(chunk)) == 1 else { return false }
                offset += chunk
            }
            return true
        }
        guard ok else {
            let code = ERR_get_error()
            ERR_clear_error()
            fatalError("RAND_bytes failed (OpenSSL error \(code)); refusing to continue without secure randomness")
        }
        return out
    }

    /// A URL-safe random token: `bytes` random bytes as base64url without
    /// padding (32 bytes give 43 characters and 256 bits of entropy).
    public static func token(bytes count: Int = 32) -> String {
        Base64URL.encode(bytes(count))
    }
}
