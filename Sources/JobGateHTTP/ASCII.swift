/// Byte-level helpers for HTTP's ASCII tokens (header names, media types, auth schemes):
/// no Foundation, no allocation, so hot request paths stay cheap.
public enum ASCII {
    /// True when `a` and `b` are equal ignoring ASCII case.
    @inlinable
    public static func equalsIgnoringCase(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        var i = a.utf8.makeIterator()
        var j = b.utf8.makeIterator()
        while true {
            switch (i.next(), j.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                if x != y && lower(x) != lower(y) { return false }
            default: return false
            }
        }
    }

    /// True when `s` starts with `prefix`, ignoring ASCII case.
    @inlinable
    public static func hasPrefixIgnoringCase(_ s: some StringProtocol, _ prefix: some StringProtocol) -> Bool {
        var i = s.utf8.makeIterator()
        for p in prefix.utf8 {
            guard let x = i.next(), x == p || lower(x) == lower(p) else { return false }
        }
        return true
    }

    /// `s` without leading and trailing spaces and tabs.
    @inlinable
    public static func trimmed(_ s: Substring) -> Substring {
        var s = s
        while let f = s.utf8.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.utf8.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }

    @usableFromInline
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
}
