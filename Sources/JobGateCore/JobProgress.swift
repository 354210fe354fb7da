import Foundation

/// How far a running attempt says it has come (DESIGN.md §14 "Progress"): `done` of `total`
/// units, with a short message. Reported by a Swift handler through its `JobContext` or by a
/// command through the descriptor in `JOBGATE_PROGRESS_FD`; stored on the job by its worker at
/// most once a second.
public struct ProgressReport: Sendable, Equatable {
    /// The longest message kept, in Unicode scalars (what PostgreSQL's `length` counts); a longer
    /// one is cut.
    public static let messageLimit = 200

    /// Units done, at least 0.
    public let done: Int64
    /// Units in all, at least `done`; nil when unknown.
    public let total: Int64?
    /// What the attempt is doing, at most `messageLimit` scalars of printable text; nil for none.
    public let message: String?

    /// A report, or nil when the numbers are out of range (`done` negative, `total` below
    /// `done`). The message is made printable (NUL dropped, other control characters become
    /// spaces), trimmed and cut to `messageLimit` scalars; empty becomes nil.
    public init?(done: Int64, total: Int64? = nil, message: String? = nil) {
        guard done >= 0, total.map({ $0 >= done }) ?? true else { return nil }
        self.done = done
        self.total = total
        self.message = message.flatMap(Self.cleaned)
    }

    /// `message` made safe to store and show: no NUL (libpq refuses it), no control characters
    /// (a stray CR or escape sequence would garble a terminal's status line), at most
    /// `messageLimit` scalars.
    static func cleaned(_ message: String) -> String? {
        var scalars = String.UnicodeScalarView()
        for s in message.unicodeScalars {
            if s.value == 0 { continue }
            // C0, DEL and C1 controls.
            scalars.append(s.value < 0x20 || (0x7F...0x9F).contains(s.value) ? " " : s)
        }
        let trimmed = String(scalars).trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return nil }
        let cut = String(String.UnicodeScalarView(trimmed.unicodeScalars.prefix(messageLimit)))
        return cut.trimmingCharacters(in: .whitespaces)
    }
}

/// A job's stored progress: the last report of its current (or last) attempt and when the
/// database recorded it.
public struct JobProgress: Sendable, Equatable {
    /// Units done.
    public var done: Int64
    /// Units in all; nil when unknown.
    public var total: Int64?
    /// What the attempt said it was doing; nil for nothing.
    public var message: String?
    /// When it was stored (database clock).
    public var at: Date

    /// A stored progress value.
    public init(done: Int64, total: Int64?, message: String?, at: Date) {
        self.done = done; self.total = total; self.message = message; self.at = at
    }
}

/// One job's pending report, as a worker writes it: fenced on the attempt that made it.
public struct ProgressUpdate: Sendable, Equatable {
    /// The job.
    public var id: UUID
    /// The attempt that reported it; the write applies only while the job runs this attempt.
    public var attempt: Int
    /// What it reported.
    public var report: ProgressReport

    /// An update of job `id` at `attempt`.
    public init(id: UUID, attempt: Int, report: ProgressReport) {
        self.id = id; self.attempt = attempt; self.report = report
    }
}
