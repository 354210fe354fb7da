/// A JSON value parsed from a request body (RFC 8259), without Foundation.
///
/// Request bodies are read on the hot path of every submit; `JSONSerialization` cost more
/// than a third of the server's time per request there (parsing, bridging to `NSDictionary`,
/// dynamic casts, and re-encoding the payload). This parser builds plain Swift values and
/// remembers where each object member's value starts and ends in the body, so a payload is
/// stored as the exact text the client sent (PostgreSQL's jsonb normalises it).
///
/// It accepts what PostgreSQL's jsonb accepts and refuses, with a message naming the byte
/// offset, what jsonb would refuse later: invalid UTF-8, `\u0000`, unpaired surrogates.
/// (One file over 400 lines: the value, its parser and its canonical form belong together.)
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number, kept as its text (precision beyond `Double` is preserved in the payload).
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// Parses a complete JSON text (any value; whitespace around it is allowed).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 256) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var parser = JSONParser(buffer, maxDepth: maxDepth)
            parser.skipWhitespace()
            let value = try parser.value(depth: 0)
            parser.skipWhitespace()
            guard parser.at == buffer.count else { throw parser.error("unexpected data after the JSON value") }
            return value
        }
    }

    /// Equality of the canonical forms (`canonical`).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        a.canonical == b.canonical
    }

    /// A canonical text of the value for comparing requests, close to how jsonb stores it:
    /// object members sorted by key bytes with the last of duplicate keys kept, no whitespace,
    /// strings compared by their UTF-8 bytes (not Unicode equivalence, as jsonb does). Numbers
    /// stay as written: jsonb keeps a number's scale (1 and 1.0 differ there too), and 1e2 and
    /// 100, which jsonb prints alike, differ here. Linear in the size of the value (after sorting).
    public var canonical: [UInt8] {
        var out: [UInt8] = []
        appendCanonical(to: &out)
        return out
    }

    func appendCanonical(to out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let n): out += Array(n.text.utf8)
        case .string(let s): JSONText.appendQuoted(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.appendCanonical(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            // Last of each key, sorted by the key's bytes.
            var last: [[UInt8]: Int] = [:]
            for (i, m) in o.members.enumerated() { last[Array(m.key.utf8)] = i }
            let keys = last.keys.sorted { $0.lexicographicallyPrecedes($1) }
            out.append(UInt8(ascii: "{"))
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(o.members[last[key]!].key, to: &out)
                out.append(UInt8(ascii: ":"))
                o.members[last[key]!].value.appendCanonical(to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }
}

/// A JSON number as written.
public struct JSONNumber: Sendable {
    /// The number's text, e.g. `-12.5e3`.
    public let text: String
    /// Its value as a `Double` (finite: the grammar has no NaN or infinity; huge values round to infinity).
    public var double: Double { Double(text) ?? .nan }
}

/// A JSON object: its members in order, each with the byte range of its value in the parsed text.
public struct JSONObject: Sendable {
    /// One member.
    public struct Member: Sendable {
        public let key: String
        public let value: JSONValue
        /// Where the value's text is in the parsed bytes.
        public let range: Range<Int>

        /// A member whose value's text sits at `range` of the parsed bytes.
        public init(key: String, value: JSONValue, range: Range<Int>) {
            self.key = key
            self.value = value
            self.range = range
        }
    }

    /// Members in the order written (duplicates included).
    public let members: [Member]

    /// An object of these members, in this order.
    public init(members: [Member]) {
        self.members = members
    }

    /// The last member named `key` (as jsonb and most parsers resolve duplicates).
    public subscript(key: String) -> Member? {
        members.last { $0.key == key }
    }

    /// The members by key, the last of duplicates kept.
    public var dictionary: [String: JSONValue] {
        var d: [String: JSONValue] = [:]
        for m in members { d[m.key] = m.value }
        return d
    }
}

/// Why a text is not JSON, with the byte offset where parsing stopped and the member it was in.
public struct JSONParseError: Error, Sendable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    /// The member being parsed, as a path such as `jobs[1].idempotencyKey`; nil at the top level.
    public internal(set) var field: String?
    /// True for a `\u0000` escape: valid JSON, but text PostgreSQL cannot hold (DESIGN.md §13).
    public internal(set) var isNUL = false
    public var description: String { "\(reason) at byte \(offset)" }

    init(offset: Int, reason: String, isNUL: Bool = false) {
        self.offset = offset
        self.reason = reason
        self.isNUL = isNUL
    }

    /// The error as seen from the object holding member `key` (paths are built while unwinding,
    /// so parsing pays nothing for them).
    func inside(member key: String) -> JSONParseError {
        var e = self
        e.field = key + (field.map { $0.hasPrefix("[") ? $0 : "." + $0 } ?? "")
        return e
    }

    /// The error as seen from the array holding it at `index`.
    func inside(index: Int) -> JSONParseError {
        var e = self
        e.field = "[\(index)]" + (field.map { $0.hasPrefix("[") ? $0 : "." + $0 } ?? "")
        return e
    }
}

private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var at = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: at, reason: reason) }

    mutating func skipWhitespace() {
        while at < bytes.count {
            switch bytes[at] {
            case 0x20, 0x0A, 0x0D, 0x09: at += 1
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard at < bytes.count else { throw error("unexpected end of JSON") }
        switch bytes[at] {
        case UInt8(ascii: "{"): return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["): return .array(try array(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let n = word.utf8CodeUnitCount
        guard at + n <= bytes.count else { throw error("unexpected end of JSON") }
        for i in 0..<n where bytes[at + i] != word.utf8Start[i] { throw error("invalid literal") }
        at += n
    }

    mutating func object(depth: Int) throws(JSONParseError) -> JSONObject {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        at += 1  // {
        var members: [JSONObject.Member] = []
        skipWhitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return JSONObject(members: members) }
        while true {
            skipWhitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
            let key = try string()
            skipWhitespace()
            guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw error("expected ':' after a member name") }
            at += 1
            skipWhitespace()
            let start = at
            let v: JSONValue
            do { v = try value(depth: depth) } catch { throw error.inside(member: key) }
            members.append(JSONObject.Member(key: key, value: v, range: start..<at))
            skipWhitespace()
            guard at < bytes.count else { throw error("unexpected end of JSON") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "}") { at += 1; return JSONObject(members: members) }
            throw error("expected ',' or '}' in an object")
        }
    }

    mutating func array(depth: Int) throws(JSONParseError) -> [JSONValue] {
        guard depth <= maxDepth else { throw error("JSON nested deeper than \(maxDepth) levels") }
        at += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return items }
        while true {
            skipWhitespace()
            do { items.append(try value(depth: depth)) } catch { throw error.inside(index: items.count) }
            skipWhitespace()
            guard at < bytes.count else { throw error("unexpected end of JSON") }
            if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
            if bytes[at] == UInt8(ascii: "]") { at += 1; return items }
            throw error("expected ',' or ']' in an array")
        }
    }

    mutating func number() throws(JSONParseError) -> JSONNumber {
        let start = at
        if bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard at < bytes.count, isDigit(bytes[at]) else { throw error("invalid number") }
        let intStart = at
        if bytes[at] == UInt8(ascii: "0") {
            at += 1
        } else {
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
        }
        let intEnd = at
        var fracStart = at, fracEnd = at
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard at < bytes.count, isDigit(bytes[at]) else { throw error("invalid number: digits must follow '.'") }
            fracStart = at
            while at < bytes.count, isDigit(bytes[at]) { at += 1 }
            fracEnd = at
        }
        var exponent = 0
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            var negative = false
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
                negative = bytes[at] == UInt8(ascii: "-")
                at += 1
            }
            guard at < bytes.count, isDigit(bytes[at]) else { throw error("invalid number: digits must follow the exponent") }
            while at < bytes.count, isDigit(bytes[at]) {
                exponent = min(exponent * 10 + Int(bytes[at] - UInt8(ascii: "0")), 10_000_000)  // saturates
                at += 1
            }
            if negative { exponent = -exponent }
        }
        if at < bytes.count, isDigit(bytes[at]) { throw error("invalid number: leading zero") }
        try checkNumericRange(intStart..<intEnd, fracStart..<fracEnd, exponent: exponent)
        return JSONNumber(text: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self))
    }

    /// PostgreSQL's numeric (what jsonb stores numbers as) holds at most 131072 digits before
    /// the decimal point and 16383 after it, zero included (`0e-20000` is refused); past that
    /// the insert would fail the whole group commit, so such numbers are refused here.
    func checkNumericRange(_ int: Range<Int>, _ frac: Range<Int>, exponent: Int) throws(JSONParseError) {
        if frac.count - exponent > 16383 {
            throw error("number out of range: PostgreSQL keeps at most 16383 digits after the decimal point")
        }
        let weight: Int
        if let first = int.first(where: { bytes[$0] != UInt8(ascii: "0") }) {
            weight = int.upperBound - first + exponent
        } else if let first = frac.first(where: { bytes[$0] != UInt8(ascii: "0") }) {
            weight = exponent - (first - frac.lowerBound)
        } else {
            return  // zero: any exponent is fine
        }
        if weight > 131072 {
            throw error("number out of range: PostgreSQL keeps at most 131072 digits before the decimal point")
        }
    }

    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    /// A string starting at the opening quote. Unescaped ASCII runs are copied as they are;
    /// other bytes must be valid UTF-8.
    mutating func string() throws(JSONParseError) -> String {
        at += 1  // "
        let start = at
        var ascii = true
        // Fast path: no escapes.
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                let raw = UnsafeBufferPointer(rebasing: bytes[start..<at])
                at += 1
                if ascii { return String(decoding: raw, as: UTF8.self) }
                guard let s = String(validating: raw, as: UTF8.self) else {
                    at = start
                    throw error("invalid UTF-8 in a string")
                }
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error("unescaped control character in a string") }
            if b >= 0x80 { ascii = false }
            at += 1
        }
        guard at < bytes.count else { throw error("unterminated string") }
        // Slow path: unescape into a byte buffer.
        var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<at]))
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                at += 1
                guard let s = String(validating: out, as: UTF8.self) else {
                    at = start
                    throw error("invalid UTF-8 in a string")
                }
                return s
            }
            if b < 0x20 { throw error("unescaped control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); at += 1; continue }
            at += 1
            guard at < bytes.count else { break }
            let e = bytes[at]
            at += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar == 0 {
                    throw JSONParseError(offset: at, reason: "\\u0000 is not allowed (PostgreSQL cannot store it)", isNUL: true)
                }
                if (0xDC00...0xDFFF).contains(scalar) { throw error("unpaired surrogate in a \\u escape") }
                if (0xD800...0xDBFF).contains(scalar) {
                    guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in a \\u escape")
                    }
                    at += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate in a \\u escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                appendUTF8(scalar, to: &out)
            default:
                at -= 1
                throw error("invalid escape in a string")
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard at + 4 <= bytes.count else { throw error("unexpected end of JSON in a \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[at]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            at += 1
        }
        return v
    }

    func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
