import Foundation
import JobGateHTTP
import JobGateTestSupport

/// Responses recorded as `Tests/tools/openapi_conformance.py` reads them, and a run of that
/// checker against the document the server serves.
struct ConformanceRecorder {
    /// One JSON line per response.
    private(set) var lines: [String] = []
    /// The statuses recorded so far.
    private(set) var statuses: Set<Int> = []

    /// Records `r` as the answer of the operation `method` `template`.
    mutating func record(_ method: String, _ template: String, _ r: HTTPClient.Response) throws {
        let body: Any = r.body.isEmpty ? NSNull()
            : (try? JSONSerialization.jsonObject(with: Data(r.body), options: [.fragmentsAllowed])) ?? String(decoding: r.body, as: UTF8.self)
        let line: [String: Any] = ["method": method, "template": template, "status": r.status,
                                   "contentType": r.header("Content-Type") ?? "", "body": body]
        lines.append(String(decoding: try JSONSerialization.data(withJSONObject: line), as: UTF8.self))
        statuses.insert(r.status)
    }

    /// Checks what was recorded against `document` with the Python beside `validator` (the
    /// tools scripts/test installs): the checker's exit status, output, and how many JSON
    /// bodies it validated.
    func check(document: [UInt8], validator: String) async throws -> (status: Int32, output: String, checked: Int) {
        let dir = NSTemporaryDirectory() + "jobgate-conformance-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(document).write(to: URL(fileURLWithPath: dir + "/openapi.json"))
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/exchanges.jsonl", atomically: true, encoding: .utf8)
        let python = URL(fileURLWithPath: validator).deletingLastPathComponent().appendingPathComponent("python").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/openapi_conformance.py").path
        let run = try TestProcess([python, script, dir + "/openapi.json", dir + "/exchanges.jsonl"])
        let status = await run.wait()
        let output = run.output
        let checked = Int(output.split(separator: "\n").last { $0.contains("JSON bodies checked") }?.split(separator: " ").first ?? "") ?? 0
        return (status, output, checked)
    }
}
