import Foundation
import JobGateCore
import JobGateSystem

/// The `/dashboard` page: one self-contained HTML document (inline CSS and SVG, no script,
/// no external asset) that reloads itself every `refreshSeconds`. Every database value is
/// escaped with `HTML.escape`.
public enum DashboardPage {
    /// Seconds between self-refreshes (`<meta http-equiv="refresh">`).
    public static let refreshSeconds = 15
    /// The content type to serve the page with.
    public static let contentType = "text/html; charset=utf-8"

    /// Headers every dashboard response carries (DESIGN.md §13). The page needs nothing but its
    /// inline `<style>` and `style=` attributes, inline SVG and at most `data:` images, and posts
    /// forms only to itself; it is never framed, sniffed or named in a Referer.
    public static let securityHeaders: [(name: String, value: String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
    ]

    static let colors = (completed: "#2f9e5f", failed: "#d64545", retried: "#e39a2d", cancelled: "#8a8f98",
                         leaseExpired: "#8e5cc9", depth: "#3b74c4")

    /// The page for `data`, as of `now`.
    public static func render(_ data: DashboardData, now: Date) -> String {
        var body = header(data, now: now)
        if data.hasJobs {
            body += tiles(data)
            body += throughput(data)
            body += "<div class=\"two\">" + queues(data) + failures(data) + "</div>"
            body += inProgress(data, now: now)
            body += latency(data)
        } else {
            body += emptyState()
        }
        body += workers(data, now: now)
        body += schedules(data, now: now)
        if data.hasJobs { body += recentFailures(data, now: now) }
        return document(title: "JobGate dashboard", refresh: true, body: body)
    }

    /// A short page for when the database cannot be read (serve it with 503).
    public static func unavailable(now: Date = Date()) -> String {
        document(title: "JobGate dashboard", refresh: true, body: """
            <header><h1>JobGate</h1><span class="meta">\(HTML.timestamp(now))</span></header>
            <section class="empty"><h2>The database is not reachable</h2>
            <p>The dashboard reads everything from PostgreSQL. This page retries every \(refreshSeconds) seconds.</p></section>
            """)
    }

    // MARK: sections

    private static func header(_ data: DashboardData, now: Date) -> String {
        let scope = data.tenant.map { "tenant <b>\(HTML.escape($0))</b> · " } ?? "all tenants · "
        return """
            <header><h1>JobGate</h1><span class="meta">\(scope)last 24 h · \(HTML.timestamp(now)) · \
            refreshes every \(refreshSeconds) s</span></header>
            """
    }

    private static func tiles(_ data: DashboardData) -> String {
        let t = data.totals
        let ready = data.queues.reduce(0) { $0 + $1.ready }
        let oldest = data.queues.map(\.oldestAgeSeconds).max() ?? 0
        func tile(_ label: String, _ value: String, _ cls: String = "") -> String {
            "<div class=\"tile \(cls)\"><div class=\"v\">\(value)</div><div class=\"l\">\(label)</div></div>"
        }
        return "<section class=\"tiles\">"
            + tile("completed", HTML.count(t.completed), "ok")
            + tile("failed", HTML.count(t.failed), t.failed > 0 ? "bad" : "")
            + tile("retried", HTML.count(t.retried), t.retried > 0 ? "warn" : "")
            + tile("cancelled", HTML.count(t.cancelled))
            + tile("ready in queues", HTML.count(ready))
            + tile("oldest wait", ready > 0 ? HTML.duration(oldest) : "–", oldest > 300 ? "warn" : "")
            + tile("running", HTML.count(data.running))
            + tile("live workers", HTML.count(data.liveWorkers), data.liveWorkers == 0 ? "bad" : "ok")
            + "</section>"
    }

    private static func throughput(_ data: DashboardData) -> String {
        let m = data.throughput
        let start = m.first?.start ?? data.now
        let t = data.totals
        func legend(_ items: [(String, String, Int)]) -> String {
            "<div class=\"legend\">" + items.map { "<span><i style=\"background:\($0.1)\"></i>\($0.0) \(HTML.count($0.2))</span>" }.joined() + "</div>"
        }
        // Completions dwarf failures on a healthy system: failures get their own chart and scale.
        let done = DashboardCharts.timeChart(
            [DashboardCharts.Series(name: "completed", color: colors.completed, values: m.map(\.completed), area: true)],
            start: start, step: 60, title: "jobs completed per minute", height: 220)
        let bad = DashboardCharts.timeChart([
            DashboardCharts.Series(name: "retried", color: colors.retried, values: m.map(\.retried)),
            DashboardCharts.Series(name: "failed", color: colors.failed, values: m.map(\.failed)),
            DashboardCharts.Series(name: "cancelled", color: colors.cancelled, values: m.map(\.cancelled)),
        ], start: start, step: 60, title: "jobs failed, retried and cancelled per minute", height: 150)
        let quiet = t.completed + t.failed + t.retried + t.cancelled == 0
            ? "<p class=\"note\">No job finished in the last 24 hours.</p>" : ""
        return """
            <section><h2>Jobs per minute by outcome <small>(UTC)</small></h2>\
            \(legend([("completed", colors.completed, t.completed)]))\(done)\
            \(legend([("retried", colors.retried, t.retried), ("failed for good", colors.failed, t.failed), ("cancelled", colors.cancelled, t.cancelled)]))\
            \(bad)\(quiet)</section>
            """
    }

    /// Paused and capped queues, one line each, and for an operator a pause or resume button
    /// for every queue with ready jobs or controls (empty when there is nothing to show).
    static func queueControls(_ data: DashboardData) -> String {
        let notable = data.queueControls.filter { $0.paused || $0.concurrencyCap != nil }
        var out = ""
        if !notable.isEmpty {
            out += "<p class=\"note\">" + notable.map { q in
                "<b>\(HTML.escape(q.name))</b>: " + [q.paused ? "paused" : nil, q.concurrencyCap.map { "at most \(HTML.count($0)) running" }]
                    .compactMap { $0 }.joined(separator: ", ")
            }.joined(separator: " · ") + " (<code>jobgate queue</code>)</p>"
        }
        guard data.canControlQueues else { return out }
        let paused = Set(data.queueControls.filter(\.paused).map(\.name))
        let names = Set(data.queues.filter { $0.ready > 0 }.map(\.queue)).union(data.queueControls.map(\.name)).sorted()
        guard !names.isEmpty else { return out }
        return out + "<div class=\"controls\">" + names.map { name in
            let action = paused.contains(name) ? "resume" : "pause"
            return "<form method=\"post\" action=\"/dashboard/queues/\(HTML.escape(name))/\(action)\">"
                + "<button type=\"submit\">\(action) <b>\(HTML.escape(name))</b></button></form>"
        }.joined() + "</div>"
    }

    private static func queues(_ data: DashboardData) -> String {
        let shown = data.queues.filter { $0.ready > 0 }
        guard !shown.isEmpty else {
            return "<section><h2>Queue depth</h2><p class=\"note\">No job is waiting: every queue is empty"
                + (data.running > 0 ? " (\(HTML.count(data.running)) running)." : ".") + "</p>\(queueControls(data))</section>"
        }
        let cap = QueueStatsCollector.defaultDepthCap
        let bars = shown.map { q in
            DashboardCharts.Bar(label: q.queue, segments: [(Double(q.ready), colors.depth)],
                                caption: (q.ready >= cap ? "≥ " : "") + "\(HTML.count(q.ready)) ready · oldest \(HTML.duration(q.oldestAgeSeconds))")
        }
        return "<section><h2>Queue depth and oldest wait</h2>\(DashboardCharts.barChart(bars, title: "queue depth by queue"))"
            + "\(queueControls(data))</section>"
    }

    private static func failures(_ data: DashboardData) -> String {
        guard !data.failures.isEmpty else {
            return "<section><h2>Failures by type</h2><p class=\"note\">No failed, retried or expired attempt in the last 24 hours.</p></section>"
        }
        let bars = data.failures.prefix(12).map { f in
            var parts = ["\(HTML.count(f.failed)) failed", "\(HTML.count(f.retried)) retried"]
            if f.leaseExpired > 0 { parts.append("\(HTML.count(f.leaseExpired)) expired") }
            return DashboardCharts.Bar(
                label: f.type,
                segments: [(Double(f.failed), colors.failed), (Double(f.retried), colors.retried),
                           (Double(f.leaseExpired), colors.leaseExpired)],
                caption: parts.joined(separator: " · "))
        }
        let legend = [("failed for good", colors.failed), ("retried", colors.retried), ("lease expired", colors.leaseExpired)]
            .map { "<span><i style=\"background:\($0.1)\"></i>\($0.0)</span>" }.joined()
        return "<section><h2>Failures by type</h2><div class=\"legend\">\(legend)</div>"
            + DashboardCharts.barChart(Array(bars), title: "failures by type") + "</section>"
    }

    private static func latency(_ data: DashboardData) -> String {
        guard !data.latency.isEmpty else {
            return "<section><h2>Wait and run time</h2><p class=\"note\">No job started in the last 24 hours.</p></section>"
        }
        func cells(_ p: DashboardData.Percentiles?) -> String {
            guard let p else { return "<td class=\"n\">0</td><td>–</td><td>–</td><td>–</td>" }
            return "<td class=\"n\">\(HTML.count(p.count))</td><td>\(HTML.duration(p.p50))</td>"
                + "<td>\(HTML.duration(p.p95))</td><td>\(HTML.duration(p.p99))</td>"
        }
        let rows = data.latency.map { l in
            "<tr><td class=\"k\">\(HTML.escape(l.type))</td>\(cells(l.wait))\(cells(l.run))</tr>"
        }.joined()
        return """
            <section><h2>Wait and run time by type <small>(last 24 h, latest \(HTML.count(DashboardData.latencySample)) at most)</small></h2>
            <table class="num"><thead><tr><th rowspan="2">type</th><th colspan="4">queue wait (submitted → first start)</th>\
            <th colspan="4">run time (completed attempts)</th></tr><tr><th>jobs</th><th>p50</th><th>p95</th><th>p99</th>\
            <th>attempts</th><th>p50</th><th>p95</th><th>p99</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    private static func workers(_ data: DashboardData, now: Date) -> String {
        guard !data.workers.isEmpty else {
            return """
                <section><h2>Workers</h2><p class="note bad">No worker has sent a heartbeat in the last hour: \
                queued jobs will wait. Start one with <code>jobgate worker</code> (or <code>jobgate up</code>).</p></section>
                """
        }
        let rows = data.workers.map { w in
            let queues = w.queues.isEmpty ? "all" : w.queues.map { HTML.escape($0) }.joined(separator: ", ")
            let seen = w.state == .stopped ? "stopped " + HTML.ago(w.stoppedAt ?? w.lastHeartbeat, now: now)
                : HTML.ago(w.lastHeartbeat, now: now)
            return "<tr class=\"\(w.state.rawValue)\"><td><span class=\"dot\"></span>\(w.state.rawValue)</td>"
                + "<td class=\"k\">\(HTML.escape(w.id))</td><td>\(HTML.escape(w.version))</td><td>\(queues)</td>"
                + "<td class=\"n\">\(HTML.count(w.running)) / \(HTML.count(w.concurrency))</td>"
                + "<td>\(HTML.ago(w.startedAt, now: now))</td><td>\(seen)</td></tr>"
        }.joined()
        return """
            <section><h2>Workers <small>(\(HTML.count(data.liveWorkers)) live; silent and stopped ones for an hour)</small></h2>
            <table><thead><tr><th>state</th><th>worker</th><th>version</th><th>queues</th><th>running / slots</th>\
            <th>started</th><th>last heartbeat</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    private static func schedules(_ data: DashboardData, now: Date) -> String {
        guard !data.schedules.isEmpty else { return "" }
        let allTenants = data.tenant == nil
        let rows = data.schedules.map { s in
            let next = s.enabled ? s.nextRunAt.map(HTML.timestamp) ?? "–" : "disabled"
            let last = s.lastRunAt.map { HTML.ago($0, now: now) } ?? "never"
            let error = s.lastError.map { "<pre class=\"err\">\(HTML.escape($0))</pre>" } ?? ""
            return "<tr><td class=\"k\">\(HTML.escape(s.name))</td>" + (allTenants ? "<td>\(HTML.escape(s.tenant))</td>" : "")
                + "<td><code>\(HTML.escape(s.cron))</code></td><td>\(HTML.escape(s.timeZone))</td>"
                + "<td>\(next)</td><td>\(last)</td><td>\(error)</td></tr>"
        }.joined()
        return """
            <section><h2>Schedules <small>(soonest first, at most \(DashboardData.scheduleLimit))</small></h2>
            <table><thead><tr><th>name</th>\(allTenants ? "<th>tenant</th>" : "")<th>cron</th><th>zone</th>\
            <th>next fire</th><th>last fired</th><th>last error</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    /// Running jobs with their reported progress (DESIGN.md §14); nothing when none reported any.
    private static func inProgress(_ data: DashboardData, now: Date) -> String {
        guard !data.progress.isEmpty else { return "" }
        let rows = data.progress.map { p in
            let amount = p.total.map { HTML.count(Int($0)) }
            let done = HTML.count(Int(p.done))
            let bar = p.fraction.map { f in
                "<span class=\"bar\" role=\"img\" aria-label=\"\(Int(f * 100)) percent\"><span style=\"width:\(Int(f * 100))%\"></span></span> \(Int(f * 100))%"
            } ?? ""
            return "<tr><td class=\"k\">\(HTML.escape(p.id.lowercasedString))</td><td>\(HTML.escape(p.type))</td>"
                + "<td>\(HTML.escape(p.queue))</td><td>\(HTML.escape(p.tenant))</td><td class=\"n\">\(p.attempt)</td>"
                + "<td class=\"n\">\(done)\(amount.map { " / " + $0 } ?? "")</td><td>\(bar)</td>"
                + "<td>\(HTML.escape(p.message ?? ""))</td><td>\(HTML.ago(p.at, now: now))</td></tr>"
        }.joined()
        return """
            <section><h2>Running jobs with progress <small>(newest report first, at most \(DashboardData.progressLimit))</small></h2>
            <table><thead><tr><th>job</th><th>type</th><th>queue</th><th>tenant</th><th>attempt</th><th>done</th>\
            <th></th><th>message</th><th>reported</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    private static func recentFailures(_ data: DashboardData, now: Date) -> String {
        guard !data.recentFailures.isEmpty else {
            return "<section><h2>Recent failed jobs</h2><p class=\"note\">No job failed for good in the last 24 hours.</p></section>"
        }
        let rows = data.recentFailures.map { f in
            "<tr><td>\(HTML.ago(f.failedAt, now: now))</td><td class=\"k\">\(HTML.escape(f.id.lowercasedString))</td>"
                + "<td>\(HTML.escape(f.type))</td><td>\(HTML.escape(f.queue))</td><td>\(HTML.escape(f.tenant))</td>"
                + "<td class=\"n\">\(f.attempt)</td><td>\(HTML.escape(f.status))</td>"
                + "<td><pre class=\"err\">\(HTML.escape(f.lastError))</pre></td></tr>"
        }.joined()
        return """
            <section><h2>Recent failed jobs <small>(latest \(DashboardData.recentFailureLimit), last 24 h)</small></h2>
            <table><thead><tr><th>failed</th><th>job</th><th>type</th><th>queue</th><th>tenant</th><th>attempt</th>\
            <th>status now</th><th>last error</th></tr></thead><tbody>\(rows)</tbody></table></section>
            """
    }

    private static func emptyState() -> String {
        """
        <section class="empty"><h2>No jobs yet</h2>
        <p>This database has never held a job. Submit one and it shows up here within \(refreshSeconds) seconds:</p>
        <pre>TOKEN=$(jobgate token create --tenant demo --scopes jobs:submit,jobs:read)
        curl -X POST http://127.0.0.1:8080/v1/jobs \\
             -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
             -d '{"type":"weather","payload":{"records":10}}'</pre>
        <p>Jobs run on workers: <code>jobgate up</code> starts the API with a worker pool, <code>jobgate worker</code> adds more.</p>
        </section>
        """
    }
}
