import Foundation
import JobGateHTTP
import JobGateCore
import JobGateSystem
import Synchronization

/// Drives a running API with one thread per keep-alive connection (blocking sockets, off
/// Swift's cooperative pool) and gathers latencies and status codes.
public struct BenchTarget: Sendable {
    let host: String
    let port: Int
    let token: String?
    let connections: Int
    let duration: Duration
    let type: String
    let payload: String
    let batchSize: Int
    let rate: Int
    let prefill: Int

    /// Why a target cannot be driven.
    public struct InvalidTarget: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// A target at `url` (`http://HOST:PORT`), driven by `connections` clients for `duration`.
    public init(url: String, token: String?, connections: Int, duration: Duration, type: String, payload: String,
                batchSize: Int, rate: Int, prefill: Int) throws {
        guard url.hasPrefix("http://") else { throw InvalidTarget(description: "--url must be http://HOST:PORT") }
        let hostPort = url.dropFirst(7).split(separator: "/").first.map(String.init) ?? ""
        let parts = hostPort.split(separator: ":")
        host = parts.first.map(String.init) ?? "127.0.0.1"
        port = parts.count > 1 ? Int(parts[1]) ?? 80 : 80
        self.token = token
        self.connections = connections
        self.duration = duration
        self.type = type
        self.payload = payload
        self.batchSize = batchSize
        self.rate = rate
        self.prefill = prefill
    }

    private var jobBody: [UInt8] { Array("{\"type\":\(JSONText.quote(type)),\"payload\":\(payload)}".utf8) }

    /// A job the e2e mode submitted, and when the client sent it.
    struct SentJob: Sendable {
        var id: String
        var sent: Date
    }

    /// Results of one connection's loop.
    struct Sample: Sendable {
        var latencies: [Double] = []
        var ok = 0
        var jobs = 0
        var errors: [Int: Int] = [:]
        var transportErrors = 0
        var sent: [SentJob] = []
    }

    /// Runs `body` on `connections` threads until the deadline; `body` sends one request and
    /// returns (status, jobs accepted, the job to follow if any) or throws for a transport error.
    private func drive(_ label: String, schedule: (@Sendable (Int, Int) -> ContinuousClock.Instant?)? = nil,
                       _ body: @escaping @Sendable (HTTPClientConnection, Int) throws -> (Int, Int, SentJob?)) async -> BenchResult {
        let start = ContinuousClock.now
        let deadline = start + duration
        let samples = Mutex<[Sample]>([])
        let (host, port, connections) = (self.host, self.port, self.connections)
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let remaining = Atomic<Int>(connections)
            for c in 0..<connections {
                let thread = Thread {
                    let client = HTTPClientConnection(host: host, port: port)
                    var s = Sample()
                    var i = 0
                    while true {
                        if let schedule {
                            guard let at = schedule(c, i) else { break }
                            let wait = at - ContinuousClock.now
                            if wait > .zero { Thread.sleep(forTimeInterval: wait.seconds) }
                        } else if ContinuousClock.now >= deadline {
                            break
                        }
                        let t0 = ContinuousClock.now
                        do {
                            let (status, jobs, sent) = try body(client, i)
                            let dt = ContinuousClock.now - t0
                            if (200..<300).contains(status) {
                                s.ok += 1
                                s.jobs += jobs
                                if let sent { s.sent.append(sent) }
                                s.latencies.append(dt.seconds)
                            } else {
                                s.errors[status, default: 0] += 1
                            }
                        } catch {
                            s.transportErrors += 1
                            Thread.sleep(forTimeInterval: 0.01)
                        }
                        i += 1
                    }
                    samples.withLock { $0.append(s) }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume() }
                }
                thread.stackSize = 256 << 10
                thread.start()
            }
        }
        let elapsed = ContinuousClock.now - start
        var result = BenchResult(mode: label, connections: connections,
                                 seconds: elapsed.seconds)
        let all = samples.withLock { $0 }
        result.ok = all.reduce(0) { $0 + $1.ok }
        result.jobs = all.reduce(0) { $0 + $1.jobs }
        result.transportErrors = all.reduce(0) { $0 + $1.transportErrors }
        for s in all { for (k, v) in s.errors { result.errors[k, default: 0] += v } }
        result.latency = LatencySummary(all.flatMap(\.latencies))
        result.sent = all.flatMap(\.sent)
        return result
    }

    /// Single submits over keep-alive connections for the duration.
    public func submit() async throws -> BenchResult {
        let request = HTTPClientConnection.request("POST", "/v1/jobs", host: host, port: port, token: token, body: jobBody)
        return await drive("submit") { client, _ in
            let r = try client.send(request)
            return (r.status, r.status == 202 ? 1 : 0, nil)
        }
    }

    /// Batch submits of `batchSize` jobs each.
    public func batch() async throws -> BenchResult {
        let one = String(decoding: jobBody, as: UTF8.self)
        let body = Array("{\"jobs\":[\(Array(repeating: one, count: batchSize).joined(separator: ","))]}".utf8)
        let request = HTTPClientConnection.request("POST", "/v1/jobs/batch", host: host, port: port, token: token, body: body)
        let n = batchSize
        return await drive("batch") { client, _ in
            let r = try client.send(request)
            return (r.status, r.status == 202 ? n : 0, nil)
        }
    }

    /// Status reads spread over `prefill` jobs created first.
    public func status() async throws -> BenchResult {
        let ids = try createJobs(prefill)
        guard !ids.isEmpty else { throw BenchFailure("could not create jobs to read") }
        let requests = ids.map { HTTPClientConnection.request("GET", "/v1/jobs/\($0)", host: host, port: port, token: token) }
        var result = await drive("status") { client, i in
            let r = try client.send(requests[i % requests.count])
            return (r.status, 0, nil)
        }
        result.notes.append("reads spread over \(ids.count) jobs")
        return result
    }

    /// `/healthz`: the HTTP ceiling of the same run.
    public func healthz() async throws -> BenchResult {
        let request = HTTPClientConnection.request("GET", "/healthz", host: host, port: port, token: nil)
        return await drive("healthz") { client, _ in (try client.send(request).status, 0, nil) }
    }

    /// Submits at a fixed offered rate, then reads each job's timestamps for submit→start and submit→complete.
    public func endToEnd() async throws -> BenchResult {
        let request = HTTPClientConnection.request("POST", "/v1/jobs", host: host, port: port, token: token, body: jobBody)
        let t0 = ContinuousClock.now + .milliseconds(100)
        let total = Int(Double(rate) * Double(duration.components.seconds))
        let (rate, connections) = (self.rate, self.connections)
        var result = await drive("e2e", schedule: { c, i in
            let n = i * connections + c
            guard n < total else { return nil }
            return t0 + .microseconds(Int64(Double(n) / Double(rate) * 1_000_000))
        }) { client, _ in
            // Submitted = when the client sent it, so the latencies include the HTTP exchange and
            // the wait for the group commit (the job's createdAt is only set inside that commit).
            let sent = Date()
            let r = try client.send(request)
            guard r.status == 202 else { return (r.status, 0, nil) }
            return (r.status, 1, Self.jobID(in: r.body).map { SentJob(id: $0, sent: sent) })
        }
        result.notes.append("offered \(rate) jobs/s for \(duration.components.seconds) s; accepted \(String(format: "%.0f", result.perSecond))/s")
        result.notes.append("submit = the client's clock before sending; start and done = the server's startedAt/finishedAt (milliseconds): "
                            + "one clock only when bench, API and database share a host; otherwise their skew is in the latencies")
        let (starts, completes, unfinished) = try await timings(result.sent)
        result.startLatency = LatencySummary(starts)
        result.completeLatency = LatencySummary(completes)
        if unfinished > 0 { result.notes.append("\(unfinished) jobs not finished within 60 s after the last submit") }
        return result
    }

    /// Waits for jobs to finish (up to 60 s) and returns submit→start and submit→complete for
    /// each, from when the client sent it, and how many did not complete.
    private func timings(_ jobs: [SentJob]) async throws -> ([Double], [Double], Int) {
        let (host, port, connections, token) = (self.host, self.port, min(self.connections, 16), self.token)
        let requests = jobs.map { HTTPClientConnection.request("GET", "/v1/jobs/\($0.id)", host: host, port: port, token: token) }
        let deadline = ContinuousClock.now + .seconds(60)
        return await withCheckedContinuation { (done: CheckedContinuation<([Double], [Double], Int), Never>) in
            let out = Mutex<([Double], [Double], Int)>(([], [], 0))
            let remaining = Atomic<Int>(connections)
            for c in 0..<connections {
                Thread {
                    let client = HTTPClientConnection(host: host, port: port)
                    var i = c
                    while i < requests.count {
                        guard let r = try? client.send(requests[i]),
                              let obj = try? JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any] else { i += connections; continue }
                        let status = obj["status"] as? String ?? ""
                        if ["queued", "running", "retrying"].contains(status) && ContinuousClock.now < deadline {
                            Thread.sleep(forTimeInterval: 0.2)
                            continue
                        }
                        let sent = jobs[i].sent
                        let started = (obj["startedAt"] as? String).flatMap(RFC3339.date)
                        let finished = (obj["finishedAt"] as? String).flatMap(RFC3339.date)
                        out.withLock { o in
                            if let started { o.0.append(started.timeIntervalSince(sent)) }
                            if let finished, status == "completed" { o.1.append(finished.timeIntervalSince(sent)) } else { o.2 += 1 }
                        }
                        i += connections
                    }
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.resume(returning: out.withLock { $0 }) }
                }.start()
            }
        }
    }

    private func createJobs(_ n: Int) throws -> [String] {
        let client = HTTPClientConnection(host: host, port: port)
        var ids: [String] = []
        let one = String(decoding: jobBody, as: UTF8.self)
        while ids.count < n {
            let k = min(1000, n - ids.count)
            let body = Array("{\"jobs\":[\(Array(repeating: one, count: k).joined(separator: ","))]}".utf8)
            let r = try client.send(HTTPClientConnection.request("POST", "/v1/jobs/batch", host: host, port: port, token: token, body: body))
            guard r.status == 202, let obj = try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any],
                  let jobs = obj["jobs"] as? [[String: Any]] else {
                throw BenchFailure("batch submit answered \(r.status): \(String(decoding: r.body.prefix(200), as: UTF8.self))")
            }
            ids += jobs.compactMap { $0["jobId"] as? String }
        }
        return ids
    }

    static func jobID(in body: [UInt8]) -> String? {
        // {"jobId":"…", …}: avoid a JSON parse on the hot path.
        guard let s = String(bytes: body, encoding: .utf8), let r = s.range(of: "\"jobId\":\"") else { return nil }
        let rest = s[r.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
