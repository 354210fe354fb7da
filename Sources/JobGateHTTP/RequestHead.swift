import CMicroHTTPD
import CShims

/// A request head as libmicrohttpd parsed it, checked for what it silently cuts.
///
/// libmicrohttpd 0.9.75 measures header values with `strlen`, so a value with a
/// NUL byte reaches us cut at the NUL (`MHD_get_connection_values_n` reports the
/// cut length too), and the request target reaches the URI callback cut the same
/// way. What follows the NUL is still in the connection's read buffer, where
/// libmicrohttpd parsed the head in place: each line ends in its CR LF (or bare
/// LF) overwritten with NULs, and the head spans `MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE`
/// bytes from the method. So a value is whole when only those 1–2 terminator
/// NULs (2–4 after the last field, with the empty line) lie between its end and
/// the next field's name (or the end of the head); anything else there means the
/// value was cut, or the field was folded (obs-fold, which RFC 9112 lets a server
/// refuse). The one case this cannot see is NULs right before a bare LF, which
/// look like a CR LF: nothing of the value is lost then.
enum RequestHead {
    /// One header field with where libmicrohttpd keeps it.
    struct Field {
        var name: String
        var value: String
        var nameAddress: UInt
        var valueAddress: UInt
        var valueCount: Int
    }

    /// Why a request must be refused before any handler sees it.
    static func badHeader(_ name: String) -> HTTPResponse {
        HTTPResponse.error(status: 400, code: "invalid_header",
                           message: "The header \(name) contains a NUL, CR or LF byte, or is folded over lines.",
                           field: name)
    }

    static func badQuery(_ name: String) -> HTTPResponse {
        HTTPResponse.error(status: 400, code: "invalid_query",
                           message: "The query parameter \(name) contains a NUL, CR or LF byte.", field: name)
    }

    static let badTarget = HTTPResponse.error(status: 400, code: "invalid_target",
                                              message: "The request target contains a NUL byte.")

    /// The header fields of `connection`, in arrival order, with their addresses.
    static func fields(_ connection: OpaquePointer) -> [Field] {
        var fields: [Field] = []
        withUnsafeMutablePointer(to: &fields) { pointer in
            _ = MHD_get_connection_values_n(connection, .HEADER_KIND, { cls, _, key, keySize, value, valueSize in
                guard let cls, let key else { return .YES }
                let fields = cls.assumingMemoryBound(to: [Field].self)
                let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keySize), as: UTF8.self)
                let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: valueSize), as: UTF8.self) } ?? ""
                fields.pointee.append(Field(name: name, value: text,
                                            nameAddress: UInt(bitPattern: key), valueAddress: UInt(bitPattern: value),
                                            valueCount: value == nil ? 0 : valueSize))
                return .YES
            }, pointer)
        }
        return fields
    }

    /// The name of the first field whose value holds NUL, CR or LF (seen or cut
    /// off), or nil when every value is whole. `headStart` is the method's address
    /// (where the head begins in the read buffer), `headSize` the head's length.
    static func firstUnsafeField(_ fields: [Field], headStart: UInt, headSize: Int) -> String? {
        let headEnd = headStart &+ UInt(headSize)
        // A folded field's name was moved out of the head by libmicrohttpd (with the next line glued to it).
        if let moved = fields.first(where: { $0.nameAddress < headStart || $0.nameAddress >= headEnd }) {
            return moved.name
        }
        for (index, field) in fields.enumerated() {
            if field.value.utf8.contains(where: isLineBreakOrNUL) { return field.name }
            let isLast = index == fields.count - 1
            let valueEnd = field.valueAddress &+ UInt(field.valueCount)
            let next = isLast ? headEnd : fields[index + 1].nameAddress
            let terminators = isLast ? 2...4 : 1...2
            guard headSize > 0, field.valueAddress >= headStart, valueEnd <= next, next <= headEnd,
                  terminators.contains(Int(next - valueEnd)) else { return field.name }
            // Inside the head, so inside libmicrohttpd's buffer: only terminator NULs may be there.
            let gap = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: valueEnd), count: Int(next - valueEnd))
            if gap.contains(where: { $0 != 0 }) { return field.name }
        }
        return nil
    }

    /// The name of the first query parameter whose decoded name or value holds NUL, CR or LF.
    static func firstUnsafeQueryItem(_ items: [(name: String, value: String)]) -> String? {
        items.first { $0.name.utf8.contains(where: isLineBreakOrNUL) || $0.value.utf8.contains(where: isLineBreakOrNUL) }?.name
    }

    /// Whether the request target the URI callback saw (`seenCount` bytes, cut at a
    /// NUL by libmicrohttpd) is all of it: in the request line the target ends one
    /// space before the HTTP version, and both pointers are into that line.
    static func targetIsWhole(seenCount: Int, target: UnsafePointer<CChar>?, version: UnsafePointer<CChar>?) -> Bool {
        guard let target, let version else { return true }
        let start = UInt(bitPattern: target), versionStart = UInt(bitPattern: version)
        // An empty version is a static string elsewhere; a target is never longer than the memory limit.
        guard versionStart > start, versionStart - start <= 1 << 20 else { return true }
        return Int(versionStart - start) - 1 == seenCount
    }

    static func isLineBreakOrNUL(_ byte: UInt8) -> Bool {
        byte == 0 || byte == 0x0D || byte == 0x0A
    }
}
