/// Writing Prometheus' text exposition format 0.0.4.
enum Exposition {
    static func header(_ out: inout String, name: String, help: String, type: String) {
        out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    static func sample(_ out: inout String, name: String, labelNames: [String], values: [String], value: Double) {
        out += name
        if !labelNames.isEmpty {
            out += "{"
            for (i, (n, v)) in zip(labelNames, values).enumerated() {
                if i > 0 { out += "," }
                out += n
                out += "=\""
                out += escapeLabelValue(v)
                out += "\""
            }
            out += "}"
        }
        out += " "
        out += format(value)
        out += "\n"
    }

    /// A sample value: integers without a fraction, `+Inf`, `-Inf`, `NaN` as the format spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value == .infinity { return "+Inf" }
        if value == -.infinity { return "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// Label values escape backslash, double quote and newline.
    static func escapeLabelValue(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return s }
        var r = ""
        r.reserveCapacity(s.utf8.count + 4)
        for ch in s {
            switch ch {
            case "\\": r += "\\\\"
            case "\"": r += "\\\""
            case "\n": r += "\\n"
            default: r.append(ch)
            }
        }
        return r
    }

    /// HELP text escapes backslash and newline only.
    static func escapeHelp(_ s: String) -> String {
        guard s.contains(where: { $0 == "\\" || $0 == "\n" }) else { return s }
        var r = ""
        for ch in s {
            switch ch {
            case "\\": r += "\\\\"
            case "\n": r += "\\n"
            default: r.append(ch)
            }
        }
        return r
    }
}

/// Valid metric and label names (`[a-zA-Z_:][a-zA-Z0-9_:]*`, labels without `:` and not `__`-prefixed).
enum MetricName {
    static func isValid(_ name: String) -> Bool {
        valid(name, allowColon: true)
    }

    static func isValidLabel(_ name: String) -> Bool {
        valid(name, allowColon: false) && !name.hasPrefix("__")
    }

    private static func valid(_ name: String, allowColon: Bool) -> Bool {
        guard let first = name.utf8.first else { return false }
        func letter(_ c: UInt8) -> Bool {
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || (allowColon && c == 58)
        }
        guard letter(first) else { return false }
        return name.utf8.allSatisfy { letter($0) || ($0 >= 48 && $0 <= 57) }
    }
}
