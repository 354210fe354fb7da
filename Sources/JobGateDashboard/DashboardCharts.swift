import Foundation

/// Inline SVG charts drawn from plain numbers: no script, no external assets.
enum DashboardCharts {
    /// One line of a time chart.
    struct Series {
        var name: String
        var color: String
        var values: [Int]
        /// Filled below the line (for the dominant series).
        var area = false
    }

    /// One row of a horizontal bar chart: stacked segments and a caption after the bar.
    struct Bar {
        var label: String
        var segments: [(value: Double, color: String)]
        var caption: String
    }

    /// A line chart of per-minute series with a UTC time axis (ticks on the 3-hour marks).
    static func timeChart(_ series: [Series], start: Date, step: TimeInterval, title: String, height: Double = 260) -> String {
        let w = 1300.0, h = height, left = 52.0, right = 14.0, top = 14.0, bottom = 30.0
        let pw = w - left - right, ph = h - top - bottom
        let n = series.map(\.values.count).max() ?? 0
        let peak = series.flatMap(\.values).max() ?? 0
        let ymax = niceCeiling(Double(max(peak, 1)))
        func x(_ i: Int) -> Double { left + (n > 1 ? Double(i) / Double(n - 1) * pw : 0) }
        func y(_ v: Double) -> Double { top + ph * (1 - v / ymax) }

        var svg = """
            <svg class="chart" viewBox="0 0 \(Int(w)) \(Int(h))" role="img" aria-label="\(HTML.escape(title))" \
            xmlns="http://www.w3.org/2000/svg">
            """
        // Horizontal grid and y labels.
        for k in 0...4 {
            let v = ymax * Double(k) / 4
            let yy = HTML.coord(y(v))
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(w - right))\" y1=\"\(yy)\" y2=\"\(yy)\" class=\"grid\"/>"
            svg += "<text x=\"\(Int(left - 6))\" y=\"\(yy)\" class=\"ylab\" dy=\"4\">\(label(v))</text>"
        }
        // Time ticks at every third UTC hour inside the window.
        if n > 1 {
            let t0 = start.timeIntervalSince1970
            var t = (t0 / 10800).rounded(.up) * 10800
            while t <= t0 + step * Double(n - 1) {
                let xx = HTML.coord(left + (t - t0) / (step * Double(n - 1)) * pw)
                svg += "<line x1=\"\(xx)\" x2=\"\(xx)\" y1=\"\(Int(top))\" y2=\"\(Int(top + ph))\" class=\"grid\"/>"
                svg += "<text x=\"\(xx)\" y=\"\(Int(h - 8))\" class=\"xlab\">\(HTML.clock(Date(timeIntervalSince1970: t)))</text>"
                t += 10800
            }
        }
        for s in series where n > 0 {
            var line = ""
            line.reserveCapacity(s.values.count * 12)
            for (i, v) in s.values.enumerated() {
                line += (i == 0 ? "M" : "L") + HTML.coord(x(i)) + " " + HTML.coord(y(Double(v)))
            }
            if s.area {
                let base = HTML.coord(y(0))
                svg += "<path d=\"\(line)L\(HTML.coord(x(s.values.count - 1))) \(base)L\(HTML.coord(x(0))) \(base)Z\" "
                    + "fill=\"\(s.color)\" fill-opacity=\"0.18\" stroke=\"none\"/>"
            }
            svg += "<path d=\"\(line)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.4\" "
                + "stroke-linejoin=\"round\" vector-effect=\"non-scaling-stroke\"><title>\(HTML.escape(s.name))</title></path>"
        }
        svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(w - right))\" y1=\"\(HTML.coord(y(0)))\" y2=\"\(HTML.coord(y(0)))\" class=\"axis\"/>"
        svg += "</svg>"
        return svg
    }

    /// A horizontal bar chart, one row per bar, bars scaled to the largest total.
    static func barChart(_ bars: [Bar], title: String) -> String {
        let w = 640.0, rowH = 28.0, labelW = 150.0, captionW = 190.0, barH = 16.0
        let h = Double(bars.count) * rowH + 6
        let maxTotal = max(bars.map { $0.segments.reduce(0) { $0 + $1.value } }.max() ?? 0, 1)
        let pw = w - labelW - captionW - 16
        var svg = """
            <svg class="bars" viewBox="0 0 \(Int(w)) \(Int(h))" role="img" aria-label="\(HTML.escape(title))" \
            xmlns="http://www.w3.org/2000/svg">
            """
        for (i, bar) in bars.enumerated() {
            let y0 = 3 + Double(i) * rowH
            let cy = HTML.coord(y0 + rowH / 2)
            let shown = bar.label.count > 20 ? String(bar.label.prefix(19)) + "…" : bar.label
            svg += "<text x=\"\(Int(labelW - 8))\" y=\"\(cy)\" dy=\"4\" class=\"blab\"><title>\(HTML.escape(bar.label))</title>"
                + "\(HTML.escape(shown))</text>"
            svg += "<rect x=\"\(Int(labelW))\" y=\"\(HTML.coord(y0 + (rowH - barH) / 2))\" width=\"\(HTML.coord(pw))\" "
                + "height=\"\(Int(barH))\" class=\"track\"/>"
            var x = labelW
            for seg in bar.segments where seg.value > 0 {
                let bw = max(seg.value / maxTotal * pw, 2)
                svg += "<rect x=\"\(HTML.coord(x))\" y=\"\(HTML.coord(y0 + (rowH - barH) / 2))\" width=\"\(HTML.coord(bw))\" "
                    + "height=\"\(Int(barH))\" fill=\"\(seg.color)\"/>"
                x += bw
            }
            svg += "<text x=\"\(Int(labelW + pw + 10))\" y=\"\(cy)\" dy=\"4\" class=\"bcap\">\(HTML.escape(bar.caption))</text>"
        }
        svg += "</svg>"
        return svg
    }

    /// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v`.
    static func niceCeiling(_ v: Double) -> Double {
        let mag = pow(10, floor(log10(v)))
        for m in [1.0, 2, 2.5, 5, 10] where m * mag >= v { return m * mag }
        return 10 * mag
    }

    private static func label(_ v: Double) -> String {
        v == v.rounded() ? HTML.count(Int(v)) : String(format: "%.1f", v)
    }
}
