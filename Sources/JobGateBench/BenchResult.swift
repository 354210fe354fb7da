import Foundation
import JobGateSystem

/// What one bench run measured.
public struct BenchResult: Sendable {
    /// The mode measured (`submit`, `batch`, `status`, `e2e`, `healthz`, `drain`).
    public var mode: String
    /// Concurrent connections (or worker concurrency for `drain`).
    public var connections: Int
    /// How long the load ran.
    public var seconds: Double
    /// Requests answered with the expected status.
    public var ok = 0
    /// Jobs those requests created or drained.
    public var jobs = 0
    /// Other answers, by status code.
    public var errors: [Int: Int] = [:]
    /// Requests that got no answer (connection refused, reset, timed out).
    public var transportErrors = 0
    var latency = LatencySummary([])
    var startLatency: LatencySummary?
    var completeLatency: LatencySummary?
    /// Lines printed under the table (what was prefilled, rows written).
    public var notes: [String] = []
    /// The jobs e2e mode submitted and when it sent each (it reads their timestamps afterwards).
    var sent: [BenchTarget.SentJob] = []

    /// An empty result for `mode`, filled in as the run goes.
    public init(mode: String, connections: Int, seconds: Double) {
        self.mode = mode
        self.connections = connections
        self.seconds = seconds
    }

    var perSecond: Double { Double(ok) / max(seconds, 1e-9) }
    var jobsPerSecond: Double { Double(jobs) / max(seconds, 1e-9) }

    /// The result as the table `jobgate bench` prints.
    public var table: String {
        func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
        var out = "mode \(mode), \(connections) connections, \(String(format: "%.1f", seconds)) s\n"
        out += "  ok            \(ok) (\(String(format: "%.0f", perSecond))/s)\n"
        if jobs != ok { out += "  jobs          \(jobs) (\(String(format: "%.0f", jobsPerSecond))/s)\n" }
        let errs = errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" } + (transportErrors > 0 ? ["transport: \(transportErrors)"] : [])
        out += "  errors        \(errs.isEmpty ? "none" : errs.joined(separator: ", "))\n"
        func row(_ name: String, _ l: LatencySummary) -> String {
            "  \(name.padding(toLength: 14, withPad: " ", startingAt: 0))p50 \(ms(l.p50)) ms  p95 \(ms(l.p95)) ms  p99 \(ms(l.p99)) ms  max \(ms(l.max)) ms  (n=\(l.count))\n"
        }
        if latency.count > 0 { out += row("latency", latency) }
        if let s = startLatency { out += row("submit→start", s) }
        if let c = completeLatency { out += row("submit→done", c) }
        for n in notes { out += "  note: \(n)\n" }
        return out
    }

    /// The result as one JSON object (`--json`).
    public var json: String {
        func l(_ s: LatencySummary?) -> String {
            guard let s else { return "null" }
            return "{\"count\":\(s.count),\"p50\":\(s.p50),\"p95\":\(s.p95),\"p99\":\(s.p99),\"max\":\(s.max)}"
        }
        let errs = errors.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return "{\"mode\":\(JSONText.quote(mode)),\"connections\":\(connections),\"seconds\":\(seconds),\"ok\":\(ok),"
            + "\"perSecond\":\(perSecond),\"jobs\":\(jobs),\"jobsPerSecond\":\(jobsPerSecond),\"errors\":{\(errs)},"
            + "\"transportErrors\":\(transportErrors),\"latency\":\(l(latency.count > 0 ? latency : nil)),"
            + "\"submitToStart\":\(l(startLatency)),\"submitToComplete\":\(l(completeLatency)),"
            + "\"notes\":[\(notes.map(JSONText.quote).joined(separator: ","))]}"
    }
}

/// A benchmark that could not run (the target refused to set up); the command line prints it and exits 1.
public struct BenchFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
