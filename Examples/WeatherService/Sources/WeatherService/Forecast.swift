/// The job's payload: which city, how many days.
struct ForecastRequest: Codable, Sendable {
    var city: String
    var days: Int
}

/// The job's output.
struct Forecast: Codable, Sendable, Equatable {
    struct Day: Codable, Sendable, Equatable {
        var day: Int
        var highCelsius: Int
        var lowCelsius: Int
        var conditions: String
    }

    var city: String
    var days: [Day]

    /// The business logic: a made-up but deterministic forecast, so the example can check
    /// the output it gets back through the API against the one it expects.
    static func make(_ request: ForecastRequest) -> Forecast {
        let seed = request.city.unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) % 1000 }
        let conditions = ["Clear", "Partly cloudy", "Rain", "Windy", "Fog"]
        return Forecast(city: request.city, days: (1...max(1, request.days)).map { day in
            let high = 12 + (seed + day * 7) % 15
            return Day(day: day, highCelsius: high, lowCelsius: high - 4 - (seed + day) % 5,
                       conditions: conditions[(seed + day) % conditions.count])
        })
    }
}
