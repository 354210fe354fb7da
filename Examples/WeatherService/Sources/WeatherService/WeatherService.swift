import Foundation
import JobGateClient
import JobGateCore
import JobGateWorker

/// Runs an embedded JobGate worker with one Swift handler (`forecast`), submits a job of
/// that type through the API with the typed client, waits for it, prints its output, and
/// stops the worker by cancelling its task (a graceful drain). Exits 0 only if the job
/// completed with the expected output.
///
/// Needs a running `jobgate serve` and its database:
///
///     JOBGATE_URL=http://127.0.0.1:8080 JOBGATE_TOKEN=jg_… JOBGATE_DATABASE_URL=postgres://… swift run WeatherService [CITY]
@main
struct WeatherService {
    static func main() async {
        do {
            exit(try await run() ? 0 : 1)
        } catch {
            FileHandle.standardError.write(Data("weather-service: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws -> Bool {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["JOBGATE_URL"], let token = env["JOBGATE_TOKEN"], let database = env["JOBGATE_DATABASE_URL"] else {
            FileHandle.standardError.write(Data("set JOBGATE_URL, JOBGATE_TOKEN and JOBGATE_DATABASE_URL\n".utf8))
            return false
        }
        let city = CommandLine.arguments.dropFirst().first ?? "Lisbon"

        // The worker: one Swift handler, in a queue of its own so that workers without it
        // (say `jobgate worker`) never claim its jobs.
        var handlers = HandlerRegistry()
        handlers.register("forecast", settings: JobTypeSettings(timeoutSeconds: 60, maxAttempts: 3, queue: "weather-service")) {
            (request: ForecastRequest, job: JobContext) -> Forecast in
            try job.checkCancellation()
            return Forecast.make(request)
        }
        var configuration = EmbeddedWorker.Configuration(databaseURL: database)
        configuration.pool.concurrency = 4
        configuration.pool.gracePeriod = .seconds(10)
        configuration.pool.log = WorkerLog(minimum: .warn)
        let worker = EmbeddedWorker(configuration: configuration, handlers: handlers)
        // Migrates and writes `forecast` to job_types, so the API accepts it.
        try await worker.start()

        let client = try JobGateClient(baseURL: url, token: token)
        let request = ForecastRequest(city: city, days: 3)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            // The worker runs as a child task of this service: cancelling it is its graceful stop.
            group.addTask { try await worker.run() }
            defer { group.cancelAll() }

            let job = try await submit(client, request)
            print("submitted forecast job \(job.id.uuidString.lowercased())")
            let done = try await client.waitForCompletion(job.id, timeout: .seconds(60))
            guard done.status == .completed else {
                print("job \(done.id.uuidString.lowercased()) ended \(done.status.rawValue): \(done.lastError ?? "no error recorded")")
                return false
            }
            let forecast = try await client.output(of: done, as: Forecast.self)
            for day in forecast.days {
                print("\(forecast.city) day \(day.day): \(day.conditions), \(day.lowCelsius)–\(day.highCelsius) °C")
            }
            let events = try await client.events(done.id).map(\.event)
            print("history: \(events.joined(separator: " → "))")

            group.cancelAll()
            try await group.waitForAll()
            print("worker stopped; completed \(worker.statistics.completed) job(s)")
            return forecast == Forecast.make(request)
        }
    }

    /// Submits with one idempotency key, retrying what may pass on a second try: the API's
    /// copy of job_types may lag the worker's write by a moment, and a server may be busy.
    static func submit(_ client: JobGateClient, _ request: ForecastRequest) async throws -> SubmittedJob {
        let key = "forecast-\(request.city)-\(UUID())"
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do {
                return try await client.submit(type: "forecast", payload: request, idempotencyKey: key)
            } catch let error as JobGateClientError where (error.code == "unknown_job_type" || error.isTransient)
                && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
