import Foundation
import JobGateSystem

/// The live line of `jobgate status --wait` and `submit --wait` (DESIGN.md §14): the job's
/// status and, while its attempt reports progress, how far it has come, e.g.
/// `running 40/100 (40%) resizing`. On a terminal the line is rewritten in place; otherwise
/// (a pipe, a log) one line is written each time it changes.
struct JobStatusLine {
    /// The line for a job as the API shows it (`GET /v1/jobs/{id}`'s JSON object).
    static func text(for job: [String: Any]) -> String {
        var s = (job["status"] as? String) ?? "unknown"
        if let p = job["progress"] as? [String: Any], let done = (p["done"] as? NSNumber)?.int64Value {
            if let total = (p["total"] as? NSNumber)?.int64Value {
                s += " \(done)/\(total)"
                if total > 0 { s += " (\(Int(Double(done) / Double(total) * 100))%)" }
            } else {
                s += " \(done)"
            }
            if let m = p["message"] as? String, !m.isEmpty { s += " " + m }
        }
        return s
    }

    /// Whether to rewrite one line in place (a terminal) or write a line per change.
    let inPlace: Bool
    private var last: String?
    private var shownWidth = 0

    init(inPlace: Bool) { self.inPlace = inPlace }

    /// What to write to show `line` now; nil when it has not changed.
    mutating func update(_ line: String) -> String? {
        guard line != last else { return nil }
        last = line
        guard inPlace else { return line + "\n" }
        // Pad over the tail of a longer previous line instead of relying on an escape sequence.
        let width = line.count
        defer { shownWidth = width }
        return "\r" + line + String(repeating: " ", count: max(0, shownWidth - width))
    }

    /// What to write once the wait is over: the end of an in-place line.
    func end() -> String { inPlace && last != nil ? "\n" : "" }
}

extension ClientSettings {
    /// Polls job `id` until it finishes, keeping a live status line on stderr, then prints the
    /// finished job on stdout. Exit code 0 when it completed, else 1 (errors as `report`).
    static func waitForJob(_ args: Arguments, id: String) async throws -> Int32 {
        var line = JobStatusLine(inPlace: isatty(2) == 1)
        defer { writeStderr(line.end()) }
        while true {
            let s = try await send(args, "GET", "/v1/jobs/\(id)")
            guard s.status == 200, let job = s.object, let status = job["status"] as? String else { return report(s) }
            if let text = line.update(JobStatusLine.text(for: job)) { writeStderr(text) }
            if ["completed", "failed", "cancelled"].contains(status) {
                writeStderr(line.end())
                line = JobStatusLine(inPlace: false)
                _ = report(s)
                return status == "completed" ? 0 : 1
            }
            try await Task.sleep(for: .milliseconds(500))
        }
    }

    private static func writeStderr(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
