/// A tenant's name (DESIGN.md §13): 1–63 bytes of `[a-z0-9._-]`, starting with a letter or a
/// digit. The one place tenant names are checked: `token create`, JWT tenant claims, API token
/// rows and dashboard sessions all go through `init?(_:)`. Its SQL twin, `jobgate.is_tenant_name`
/// (migration 0004, for `jobgate.submit`), is the same rule as a regular expression;
/// SQLSubmitTests checks that the two agree.
///
/// Names are compared byte for byte (`==`, `hash(into:)`, `matches(_:)`), never with Swift's
/// `String ==`, which treats canonically equivalent Unicode (`"cafe\u{301}"`, `"caf\u{e9}"`) as
/// equal: two tenants are the same only when PostgreSQL's `text =` would say so too.
public struct TenantName: Sendable, Hashable, CustomStringConvertible {
    /// The name as text (ASCII only, so its bytes are its characters).
    public let rawValue: String

    /// The longest name, in bytes.
    public static let maxLength = 63

    /// `text` as a tenant name; nil when it is outside the allowed set.
    public init?(_ text: String) {
        guard Self.problem(text) == nil else { return nil }
        rawValue = text
    }

    /// Why `text` is not a tenant name (a sentence for a CLI or an error body), or nil when it is one.
    public static func problem(_ text: String) -> String? {
        let bytes = text.utf8
        guard let first = bytes.first else { return "a tenant name must not be empty" }
        guard bytes.count <= maxLength else { return "a tenant name is at most \(maxLength) bytes" }
        guard isLowerAlphanumeric(first) else { return "a tenant name starts with a lowercase letter or a digit" }
        guard bytes.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") })
        else { return "a tenant name may contain only a-z, 0-9, '.', '_' and '-'" }
        return nil
    }

    /// Whether `stored` (a tenant read from a row) is this tenant, byte for byte.
    public func matches(_ stored: String) -> Bool { Self.same(rawValue, stored) }

    /// Byte-for-byte equality of two tenant texts (what PostgreSQL's `text =` does).
    public static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }

    /// Byte-for-byte equality, not `String ==` (which equates canonically equivalent Unicode).
    public static func == (a: TenantName, b: TenantName) -> Bool { same(a.rawValue, b.rawValue) }

    /// Hashes the name's bytes, consistently with `==`.
    public func hash(into hasher: inout Hasher) {
        for b in rawValue.utf8 { hasher.combine(b) }
    }

    /// The name itself (`rawValue`).
    public var description: String { rawValue }

    private static func isLowerAlphanumeric(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b)
    }
}
