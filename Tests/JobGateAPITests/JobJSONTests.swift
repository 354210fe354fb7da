import Foundation
@testable import JobGateAPI
import JobGateCore
import Testing

@Suite struct JobJSONTests {
    @Test func timestampsAreRFC3339UTCWithMilliseconds() {
        let cases: [(Double, String)] = [
            (0, "1970-01-01T00:00:00.000Z"), (1_735_787_045.678, "2025-01-02T03:04:05.678Z"),
            (-0.5, "1969-12-31T23:59:59.500Z"), (1_924_991_999.999, "2030-12-31T23:59:59.999Z"),
            (253_402_300_799, "9999-12-31T23:59:59.000Z"),
        ]
        for (seconds, text) in cases {
            #expect(JobJSON.timestamp(Date(timeIntervalSince1970: seconds)) == text)
        }
        // Against Foundation for the seconds (its fractional output rounds the binary double
        // inconsistently), with the milliseconds the integer count says.
        for _ in 0..<500 {
            let ms = Int64.random(in: 0...4_102_444_800_000)
            let whole = Date(timeIntervalSince1970: Double(ms / 1000)).formatted(Date.ISO8601FormatStyle())
            let expected = whole.dropLast() + "." + String(1000 + ms % 1000).dropFirst() + "Z"
            #expect(JobJSON.timestamp(Date(timeIntervalSince1970: Double(ms) / 1000)) == expected)
        }
    }

    @Test func progressIsShownWhenTheAttemptReportedAnyAndParsesAsJSON() throws {
        var job = Job(id: UUID(), tenant: "t", queue: "default", type: "resize", payload: "{}", priority: 0, status: .running,
                      attempt: 1, maxAttempts: 3, runAt: Date(timeIntervalSince1970: 0), createdAt: Date(timeIntervalSince1970: 0),
                      startedAt: nil, finishedAt: nil, timeoutSeconds: 60, leaseExpiresAt: nil, lockedBy: nil,
                      cancelRequestedAt: nil, idempotencyKey: nil, lastError: nil, traceId: nil, output: nil)
        #expect(!JobJSON.job(job, output: nil).contains("progress"))
        job.progress = JobProgress(done: 40, total: 100, message: "resizing \"big\" one", at: Date(timeIntervalSince1970: 1_735_787_045.678))
        let text = JobJSON.job(job, output: nil)
        #expect(text.hasSuffix(#","progress":{"done":40,"total":100,"message":"resizing \"big\" one","at":"2025-01-02T03:04:05.678Z"}}"#))
        job.progress = JobProgress(done: Int64.max, total: nil, message: nil, at: Date(timeIntervalSince1970: 0))
        let object = try JSONSerialization.jsonObject(with: Data(JobJSON.job(job, output: nil).utf8)) as? [String: Any]
        let progress = object?["progress"] as? [String: Any]
        #expect((progress?["done"] as? NSNumber)?.int64Value == Int64.max)
        #expect(progress?["total"] is NSNull && progress?["message"] is NSNull)
    }
}
