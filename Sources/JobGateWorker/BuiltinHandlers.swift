import Foundation

/// Completes at once with no output (tests and benchmarks).
public struct NoopHandler: JobHandler {
    /// The handler.
    public init() {}
    /// Returns no output.
    public func run(_ job: JobContext) async throws -> JobOutput? { nil }
}

/// The reference batch step (DESIGN.md §5): N random weather observations as
/// `{"weatherData":[...]}`. Payload: `records` (default 100, at most 1,000,000) and
/// `durationSeconds` (default 0) to simulate a long batch; the wait honours cancellation.
public struct WeatherHandler: JobHandler {
    /// The handler.
    public init() {}

    static let stations: [(id: String, lat: Double, lon: Double)] = [
        ("KSEA", 47.4502, -122.3088), ("KJFK", 40.6413, -73.7781), ("EGLL", 51.4700, -0.4543),
        ("LFPG", 49.0097, 2.5479), ("RJTT", 35.5494, 139.7798), ("YSSY", -33.9399, 151.1753),
        ("SBGR", -23.4356, -46.4731), ("FAOR", -26.1367, 28.2411), ("EDDF", 50.0379, 8.5622),
        ("CYYZ", 43.6777, -79.6248),
    ]
    static let conditions = ["Clear", "Partly cloudy", "Cloudy", "Rain", "Showers", "Thunderstorm", "Snow", "Fog", "Windy"]

    /// Generates the observations the payload asks for.
    public func run(_ job: JobContext) async throws -> JobOutput? {
        var records = 100
        var duration = 0.0
        if let data = job.payload.data(using: .utf8),
           let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            if let r = obj["records"] {
                guard let n = (r as? NSNumber)?.intValue, n >= 0, n <= 1_000_000 else {
                    throw JobFailure("payload field records must be an integer from 0 to 1000000", retryable: false)
                }
                records = n
            }
            if let d = obj["durationSeconds"] {
                guard let s = (d as? NSNumber)?.doubleValue, s >= 0, s <= 86_400 else {
                    throw JobFailure("payload field durationSeconds must be a number from 0 to 86400", retryable: false)
                }
                duration = s
            }
        }
        if duration > 0 {
            // Task.sleep throws CancellationError when the attempt is stopped.
            try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
        }
        try job.checkCancellation()
        return JobOutput(bytes: Array(Self.generate(records: records).utf8), contentType: "application/json")
    }

    static func generate(records: Int) -> String {
        var g = SystemRandomNumberGenerator()
        var out = "{\"weatherData\":["
        out.reserveCapacity(64 + records * 220)
        let now = Date().timeIntervalSince1970
        for i in 0..<records {
            if i > 0 { out += "," }
            let s = stations[Int.random(in: 0..<stations.count, using: &g)]
            let t = Date(timeIntervalSince1970: (now - Double.random(in: 0..<86_400, using: &g)).rounded())
            out += "{\"station\":\"\(s.id)\",\"geoLocation\":{\"lat\":\(s.lat),\"lon\":\(s.lon)},"
            out += "\"localTime\":\"\(t.formatted(.iso8601))\","
            out += "\"conditions\":\"\(conditions[Int.random(in: 0..<conditions.count, using: &g)])\","
            out += "\"temperature\":\(round1(Double.random(in: -30...45, using: &g))),"
            out += "\"pressure\":\(round1(Double.random(in: 960...1050, using: &g))),"
            out += "\"humidity\":\(Int.random(in: 5...100, using: &g))}"
        }
        out += "]}"
        return out
    }

    private static func round1(_ v: Double) -> Double { (v * 10).rounded() / 10 }
}
