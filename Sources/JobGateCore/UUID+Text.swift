import Foundation

extension UUID {
    /// The canonical lowercase text form (`01a2…-…`), built without Foundation's
    /// formatting and a second lowercasing pass: ids are written into every API response.
    public var lowercasedString: String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 45, count: 36)
        withUnsafeBytes(of: uuid) { raw in
            var o = 0
            for (i, b) in raw.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 { o += 1 }
                out[o] = hex[Int(b >> 4)]
                out[o + 1] = hex[Int(b & 0x0F)]
                o += 2
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
