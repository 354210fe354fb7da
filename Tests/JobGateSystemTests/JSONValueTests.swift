import Foundation
@testable import JobGateSystem
import Testing

@Suite struct JSONValueTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }
    func bytesParse(_ bytes: [UInt8]) -> JSONParseError? {
        do { _ = try JSONValue.parse(bytes); return nil } catch { return error }
    }

    @Test func parsesEveryKindOfValueAndKeepsEachMembersText() throws {
        let text = #" { "s": "a\"b\\c\/\n\u00e9\ud83d\ude00" , "n": -12.5e+3, "i": 0, "t": true, "f": false, "z": null, "a": [1, [], {}], "o": {"k": "v"} } "#
        let value = try parse(text)
        guard case .object(let o) = value else { Issue.record("not an object"); return }
        #expect(o.members.map(\.key) == ["s", "n", "i", "t", "f", "z", "a", "o"])
        #expect(o["s"]?.value == .string("a\"b\\c/\né😀"))
        guard case .number(let n) = o["n"]?.value else { Issue.record("not a number"); return }
        #expect(n.text == "-12.5e+3" && n.double == -12500)
        #expect(o["t"]?.value == .bool(true) && o["f"]?.value == .bool(false) && o["z"]?.value == .null)
        #expect(o["a"]?.value == .array([.number(JSONNumber(text: "1")), .array([]), .object(JSONObject(members: []))]))
        let bytes = Array(text.utf8)
        let raw = { (key: String) in String(decoding: bytes[o[key]!.range], as: UTF8.self) }
        #expect(raw("o") == #"{"k": "v"}"#)
        #expect(raw("n") == "-12.5e+3")
        #expect(raw("s") == #""a\"b\\c\/\n\u00e9\ud83d\ude00""#)
        #expect(try parse("\"é raw ✓\"") == .string("é raw ✓"))
        #expect(try parse("12345678901234567890123456789") != .null)
    }

    @Test func refusesWhatIsNotJSONOrWhatPostgresCannotStore() {
        let bad = [
            "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "01", "1.", ".5", "-", "+1", "1e",
            "1e+", "NaN", "Infinity", "tru", "nul", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u00zz\"", "\"\\u0000\"", "\"\\ud800\"",
            "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "{} {}", "[1] x", "\"tab\there\"",
        ]
        for text in bad { #expect(bytesParse(Array(text.utf8)) != nil, "accepted \(text)") }
        // Invalid UTF-8 in strings: a stray continuation byte, a truncated sequence, an overlong NUL.
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xE2, 0x82, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0x5C, 0x6E, 0x80, 0x22]] {
            #expect(bytesParse(bytes) != nil, "accepted \(bytes)")
        }
        // Raw non-ASCII bytes outside strings.
        #expect(bytesParse([0xC3, 0xA9]) != nil)
        let error = bytesParse(Array("{\"a\": tru}".utf8))
        #expect(error?.offset == 6)
        #expect(error?.description.contains("at byte 6") == true)
    }

    @Test func numbersOutsidePostgresNumericAreRefused() throws {
        for text in ["1e131072", "123456e-16384", "1e-16384", "0e-20000", "-0.0e-99999", "1e99999999999999999999",
                     "1" + String(repeating: "0", count: 131072)] {
            #expect(bytesParse(Array(text.utf8))?.reason.contains("out of range") == true, "accepted \(text.prefix(30))")
        }
        for text in ["1e131071", "9.5e131071", "0.0001e131075", "10000000000e-16380", "1e-16383", "0e200000", "0.000e999999", "-1.5E+3"] {
            _ = try parse(text)
        }
    }

    @Test func canonicalFormsCompareRequestsLinearlyAndByBytes() throws {
        // Duplicate keys collapse to the last; order and whitespace do not matter.
        let many = "{" + Array(repeating: "\"a\":0", count: 40_000).joined(separator: ",") + "}"
        #expect(try parse(many).canonical == Array(#"{"a":0}"#.utf8))
        #expect(try parse(#"{ "b" : [1, {"y":null,"x":"\u0001\""}], "a":true }"#).canonical == Array(#"{"a":true,"b":[1,{"x":"\u0001\"","y":null}]}"#.utf8))
        // Canonically equivalent Unicode is still different text (as jsonb compares it).
        #expect(try parse(#""\u00e9""#) != parse(#""e\u0301""#))
        #expect(try parse("\"\u{e9}\"") != parse("\"e\u{301}\""))
        #expect(try parse(#"{"\u00e9":1}"#) != parse(#"{"e\u0301":1}"#))
    }

    /// The writer every response and log line uses: what it writes reads back as the same string.
    @Test func quotedStringsReadBackUnchanged() throws {
        let samples = ["", "plain", "quote\" back\\slash", "\n\r\t\u{01}\u{1f}\u{7f}", "é😀 ✓", "</script>"]
        for s in samples + (0..<200).map { _ in String((0..<12).map { _ in "a\"\\\n\u{0}\u{1b}é😀".randomElement()! }) } {
            let text = JSONText.quote(s)
            #expect(try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? String == s, "\(text)")
            #expect(!text.utf8.dropFirst().dropLast().contains { $0 < 0x20 })
        }
        #expect(JSONText.quote("a\nb\u{1}") == #""a\nb\u0001""#)
    }

    @Test func nestingIsBounded() throws {
        #expect(bytesParse(Array((String(repeating: "[", count: 300) + String(repeating: "]", count: 300)).utf8)) != nil)
        _ = try parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200))
        let deep = String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300)
        #expect(bytesParse(Array(deep.utf8))?.reason.contains("nested deeper") == true)
    }

    @Test func equalityIsOfCanonicalForms() throws {
        #expect(try parse(#"{"a": 1, "b": [true, null]}"#) == parse(#"{"b":[true,null],"a":1}"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"a": 1.0}"#))
        #expect(try parse(#"{"a": 1, "a": 2}"#) == parse(#"{"a": 2}"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"a": "1"}"#))
        #expect(try parse(#"[1, 2]"#) != parse(#"[2, 1]"#))
        #expect(try parse(#"{"a": 1}"#) != parse(#"{"a": 1, "b": 1}"#))
    }

    /// Whatever Foundation writes, this parser reads back to the same values.
    @Test func readsWhatFoundationWrites() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> Any {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return NSNull()
            case 1: return Bool.random(using: &generator)
            case 2: return Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 8
            case 3: return String((0..<Int.random(in: 0..<12, using: &generator)).map { _ in "aé\"\\\n\t😀/ z".randomElement(using: &generator)! })
            case 4: return (0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth + 1) }
            default:
                var o: [String: Any] = [:]
                for i in 0..<Int.random(in: 0..<4, using: &generator) { o["k\(i)é"] = random(depth + 1) }
                return o
            }
        }
        func convert(_ v: Any) -> JSONValue {
            switch v {
            case is NSNull: return .null
            case let s as String: return .string(s)
            case let n as NSNumber where String(cString: n.objCType) == "c": return .bool(n.boolValue)
            case let n as NSNumber: return .number(JSONNumber(text: String(decoding: try! JSONSerialization.data(withJSONObject: n, options: [.fragmentsAllowed]), as: UTF8.self)))
            case let a as [Any]: return .array(a.map(convert))
            case let o as [String: Any]: return .object(JSONObject(members: o.map { .init(key: $0.key, value: convert($0.value), range: 0..<0) }))
            default: return .null
            }
        }
        for _ in 0..<300 {
            let value = random(0)
            let data = try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])
            #expect(try JSONValue.parse(Array(data)) == convert(value), "\(String(decoding: data, as: UTF8.self))")
        }
    }
}
