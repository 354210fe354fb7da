/// Lowercase hexadecimal, the form SHA-256 digests take in JSON, ETags and
/// signed URLs.
public enum Hex {
    /// `bytes` as lowercase hex, two characters per byte.
    public static func encode(_ bytes: [UInt8]) -> String {
        // The array case on its own: the generic one below runs unspecialised across modules.
        let digits: StaticString = "0123456789abcdef"
        var out = [UInt8](repeating: 0, count: bytes.count * 2)
        for i in bytes.indices {
            out[2 * i] = digits.utf8Start[Int(bytes[i] >> 4)]
            out[2 * i + 1] = digits.utf8Start[Int(bytes[i] & 0x0f)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `bytes` as lowercase hex, two characters per byte.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        encode(Array(bytes))
    }

    /// The bytes of a hex string (either case), or nil if it has an odd
    /// length or a non-hex character.
    public static func decode(_ string: some StringProtocol) -> [UInt8]? {
        let utf8 = Array(string.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func value(_ char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): char - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): char - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): char - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension Sequence<UInt8> {
    /// These bytes as lowercase hex (see ``Hex/encode(_:)``).
    public var hexString: String { Hex.encode(self) }
}
