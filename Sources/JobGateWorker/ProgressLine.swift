import JobGateCore

/// A command's progress lines (DESIGN.md §14): `progress DONE[/TOTAL] [message]`, one a line,
/// written to the descriptor named in `JOBGATE_PROGRESS_FD`.
enum ProgressLine {
    /// The descriptor the child finds its progress pipe on.
    static let childDescriptor: Int32 = 3
    /// The environment variable naming it.
    static let environmentVariable = "JOBGATE_PROGRESS_FD"
    /// The longest line read; the rest of a longer one is skipped and the line counts as malformed.
    static let maxLineBytes = 4096

    /// The report a line makes, or nil when it is malformed: another keyword, numbers that are
    /// not plain decimal digits or do not fit in 64 bits, a total below the done count. A
    /// trailing CR is ignored; the message is what follows the numbers and their blanks.
    static func parse<C: Collection<UInt8>>(_ line: C) -> ProgressReport? {
        var bytes = Array(line)
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let keyword = Array("progress".utf8)
        guard bytes.count > keyword.count, Array(bytes[..<keyword.count]) == keyword, isBlank(bytes[keyword.count]) else { return nil }
        var i = keyword.count
        while i < bytes.count, isBlank(bytes[i]) { i += 1 }
        guard let done = number(bytes, &i) else { return nil }
        var total: Int64?
        if i < bytes.count, bytes[i] == UInt8(ascii: "/") {
            i += 1
            guard let t = number(bytes, &i) else { return nil }
            total = t
        }
        // The numbers end at a blank or the end of the line ("5x" is not five).
        guard i == bytes.count || isBlank(bytes[i]) else { return nil }
        while i < bytes.count, isBlank(bytes[i]) { i += 1 }
        let message = i < bytes.count ? String(decoding: bytes[i...], as: UTF8.self) : nil
        return ProgressReport(done: done, total: total, message: message)
    }

    private static func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }

    /// Decimal digits at `i` as a non-negative Int64, advancing past them; nil if none or too large.
    private static func number(_ bytes: [UInt8], _ i: inout Int) -> Int64? {
        let start = i
        var value: Int64 = 0
        while i < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[i]) {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
            i += 1
        }
        return i > start ? value : nil
    }
}

/// Splits the bytes of a progress pipe into lines, keeping at most `ProgressLine.maxLineBytes`
/// of an unfinished one, and remembers the newest valid report of what it was given.
struct ProgressLineReader {
    private var partial: [UInt8] = []
    private var skipping = false
    /// Lines that were not valid progress lines (blank lines are not counted).
    private(set) var malformed = 0
    /// The first malformed line, cut, for the debug log.
    private(set) var firstMalformed: String?
    /// The newest valid report not yet taken.
    private var latest: ProgressReport?

    /// Feeds bytes read from the pipe.
    mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        for (i, b) in bytes.enumerated() where b == UInt8(ascii: "\n") {
            append(bytes[start..<i])
            endLine()
            start = i + 1
        }
        append(bytes[start...])
    }

    /// The pipe reached its end: a last line without a newline counts too.
    mutating func finish() {
        if !partial.isEmpty || skipping { endLine() }
    }

    /// The newest valid report since the last call, if any.
    mutating func take() -> ProgressReport? {
        defer { latest = nil }
        return latest
    }

    private mutating func append(_ slice: Slice<UnsafeRawBufferPointer>) {
        guard !skipping, !slice.isEmpty else { return }
        if partial.count + slice.count > ProgressLine.maxLineBytes {
            skipping = true
            partial.append(contentsOf: slice.prefix(ProgressLine.maxLineBytes - partial.count))
        } else {
            partial.append(contentsOf: slice)
        }
    }

    private mutating func endLine() {
        defer { partial.removeAll(keepingCapacity: true); skipping = false }
        if !skipping, partial.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") }) { return }
        if !skipping, let report = ProgressLine.parse(partial) {
            latest = report
            return
        }
        malformed += 1
        if firstMalformed == nil { firstMalformed = String(decoding: partial.prefix(120), as: UTF8.self) }
    }
}
