import Foundation

/// UUID text without Foundation: `UUID.uuidString` goes through a formatter and
/// `UUID(uuidString:)` through `sscanf`, and ids are parsed from every row a submit returns
/// and written into every API response.
public enum UUIDText {
    /// Appends the canonical lowercase form (8-4-4-4-12 hex digits).
    public static func append(_ uuid: UUID, to out: inout [UInt8]) {
        let hex: StaticString = "0123456789abcdef"
        withUnsafeBytes(of: uuid.uuid) { raw in
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
                out.append(hex.utf8Start[Int(raw[i] >> 4)])
                out.append(hex.utf8Start[Int(raw[i] & 0x0F)])
            }
        }
    }

    /// The canonical lowercase form.
    public static func lowercased(_ uuid: UUID) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        append(uuid, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses 8-4-4-4-12 hex digits in either case (what `UUID(uuidString:)` accepts).
    public static func parse(_ text: some StringProtocol) -> UUID? {
        var text = String(text)
        return text.withUTF8 { b -> UUID? in
            guard b.count == 36 else { return nil }
            var bytes: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            let ok = withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var i = 0
                for o in 0..<16 {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        guard b[i] == UInt8(ascii: "-") else { return false }
                        i += 1
                    }
                    guard let hi = nibble(b[i]), let lo = nibble(b[i + 1]) else { return false }
                    out[o] = hi << 4 | lo
                    i += 2
                }
                return true
            }
            return ok ? UUID(uuid: bytes) : nil
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension UUID {
    /// The canonical lowercase text form (`01a2…-…`), built without Foundation's
    /// formatting and a second lowercasing pass: ids are written into every API response
    /// and every log line (the one text form of an id: logs and API agree).
    public var lowercasedString: String { UUIDText.lowercased(self) }
}
