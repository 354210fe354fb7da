import Foundation
import JobGateCore
@testable import JobGateDashboard
import Testing

/// The page and its pieces from hand-built data: no database.
struct DashboardPageTests {
    static let now = Date(timeIntervalSince1970: 1_750_000_000)

    static func data(error: String) -> DashboardData {
        var minutes = DashboardData.emptyThroughput(now: now)
        minutes[minutes.count - 1].completed = 7
        return DashboardData(
            now: now, hasJobs: true, throughput: minutes,
            queues: [QueueStats(queue: "<q>", ready: 3, oldestAgeSeconds: 75)], running: 0,
            latency: [DashboardData.TypeLatency(type: "t<1>", run: .init(count: 7, p50: 0.25, p95: 2, p99: 12), wait: nil)],
            failures: [DashboardData.TypeFailures(type: "t<1>", failed: 2, retried: 0, leaseExpired: 1)],
            workers: [], recentFailures: [DashboardData.FailedJob(
                id: UUID(), tenant: "a'b", type: "t<1>", queue: "q", status: "failed", attempt: 3,
                failedAt: now.addingTimeInterval(-90), lastError: error)])
    }

    @Test func everyDatabaseValueIsEscaped() {
        let html = DashboardPage.render(Self.data(error: "<script>alert(1)</script>"), now: Self.now)
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<q>") && html.contains("&lt;q&gt;"))
        #expect(!html.contains("t<1>") && html.contains("t&lt;1&gt;"))
        #expect(html.contains("a&#39;b"))
    }

    /// One self-contained page: nothing fetched from elsewhere (no scripts, stylesheets, images
    /// or fonts by URL), charts inline as SVG.
    @Test func pagesLoadNothingFromElsewhere() {
        let pages = [DashboardPage.render(Self.data(error: "x"), now: Self.now), DashboardPage.loginPage(error: nil),
                     DashboardPage.unavailable()]
        for html in pages {
            // (The SVG namespace, xmlns="http://www.w3.org/2000/svg", is a name, not a fetch.)
            for external in ["<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", "url(", "src=", "href=\"http", "href=\"//"] {
                #expect(!html.lowercased().contains(external), "\(external) in a dashboard page")
            }
        }
        #expect(pages[0].contains("<svg class=\"chart\"") && pages[0].contains("<style>"))
    }

    @Test func numbersAndDurationsAreReadable() {
        let html = DashboardPage.render(Self.data(error: "x"), now: Self.now)
        #expect(html.contains("3 ready · oldest 1 m 15 s"))
        #expect(html.contains("2 failed · 0 retried · 1 expired"))
        #expect(html.contains("<td>250 ms</td><td>2.0 s</td><td>12 s</td>"))
        #expect(html.contains("1 m 30 s ago"))
        #expect(html.contains("2025-06-15 15:06:40 UTC"))
        #expect(HTML.count(1_234_567) == "1\u{202F}234\u{202F}567")
        #expect(HTML.duration(7322) == "2 h 2 m")
        #expect(DashboardCharts.niceCeiling(7) == 10 && DashboardCharts.niceCeiling(180) == 200 && DashboardCharts.niceCeiling(1) == 1)
    }

    @Test func throughputChartHasOnePointPerMinuteAndThreeHourTicks() {
        let html = DashboardPage.render(Self.data(error: "x"), now: Self.now)
        let from = html.range(of: "<svg class=\"chart\"")!.lowerBound
        let chart = String(html[from..<html[from...].range(of: "</svg>")!.upperBound])
        let firstPath = chart.components(separatedBy: "<path d=\"")[2].prefix { $0 != "\"" }
        #expect(firstPath.filter { $0 == "L" }.count == DashboardData.minutes - 1)
        #expect(chart.components(separatedBy: "class=\"xlab\"").count - 1 == 8)
        #expect(html.components(separatedBy: "<svg class=\"chart\"").count - 1 == 2) // completed; failed/retried/cancelled
    }

    @Test func loginPagePostsATokenFieldAndEscapesTheMessage() {
        let html = DashboardPage.loginPage(error: "bad <token>")
        #expect(html.contains("<form method=\"post\" action=\"/dashboard/login\""))
        #expect(html.contains("name=\"token\" type=\"password\""))
        #expect(html.contains("bad &lt;token&gt;"))
        #expect(!html.contains("http-equiv=\"refresh\""))
    }
}
