#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A verdict's figures as a person reads them, the same in the API's
/// sentences, `ctl rollout verdicts` and the console.
extension GateVerdict {
    /// Ratio gates compare p95s or means by division; the others by difference.
    public var comparesRatio: Bool {
        switch metric {
        case .p95LatencyRatio, .ttftP95Ratio, .costPerRequestRatio: true
        default: false
        }
    }

    /// What follows a compared figure: " pp", "×" or nothing (score points).
    public var figureUnit: String {
        switch metric {
        case .errorRateDelta, .rate429, .contentFilterRate: " pp"
        case .p95LatencyRatio, .ttftP95Ratio, .costPerRequestRatio: "×"
        case .qualityScore, .circuitBreaker: ""
        }
    }

    /// One compared figure without its unit: "+1.8", "−0.3", "1.32" (ratios always with two decimals).
    public func figureText(_ value: Double, rounding: FloatingPointRoundingRule = .toNearestOrAwayFromZero, decimals: Int = 2) -> String {
        let text = GateVerdict.fixed(value, decimals: decimals, rounding: rounding, trim: !comparesRatio)
        guard !comparesRatio, text != "0" else { return text }
        return value > 0 ? "+" + text : text
    }

    /// The measured difference or ratio with its unit: "+1.8 pp", "1.32×".
    public var measuredText: String? {
        measured.map { figureText($0) + figureUnit }
    }

    /// An end of the interval rounded away from the inside, with more
    /// decimals when rounding would make it read as the limit itself.
    public func intervalEndText(_ value: Double, isLow: Bool) -> String {
        var decimals = 2
        while true {
            let text = figureText(value, rounding: isLow ? .down : .up, decimals: decimals)
            guard decimals < 5, let limit, value != limit, text == figureText(limit, decimals: decimals) else { return text }
            decimals += 1
        }
    }

    /// The anytime interval with its unit: "+0.9 … +2.7 pp", "1.12 … 1.61×",
    /// "≥ 1.12×" when the data cannot bound it from above yet, "unbounded" when neither.
    public var intervalText: String? {
        guard let interval else { return nil }
        switch (interval.low, interval.high) {
        case (let low?, let high?): return "\(intervalEndText(low, isLow: true)) … \(intervalEndText(high, isLow: false))\(figureUnit)"
        case (let low?, nil): return "≥ \(intervalEndText(low, isLow: true))\(figureUnit)"
        case (nil, let high?): return "≤ \(intervalEndText(high, isLow: false))\(figureUnit)"
        case (nil, nil): return "unbounded"
        }
    }

    /// The limit as the sentence writes it: "1 pp", "1.20×", "−0.05".
    public var limitText: String? {
        guard let limit else { return nil }
        let text = comparesRatio || limit < 0
            ? figureText(limit, decimals: comparesRatio ? 2 : 3) : GateVerdict.fixed(limit, decimals: 3, rounding: .toNearestOrAwayFromZero, trim: true)
        return text + figureUnit
    }

    /// `value` with at most `decimals` decimals, rounded by `rule`; trailing
    /// zeros dropped when `trim`; "−" for negatives, as the sentences use.
    static func fixed(_ value: Double, decimals: Int, rounding rule: FloatingPointRoundingRule, trim: Bool) -> String {
        guard value.isFinite else { return value.isNaN ? "?" : (value > 0 ? "∞" : "−∞") }
        let scale = pow(10, Double(decimals))
        let scaled = (value * scale).rounded(rule)
        guard abs(scaled) < 1e15 else { return String(GateEvaluator.format(value).map { $0 == "-" ? "−" : $0 }) }
        let magnitude = abs(scaled) / scale
        var text = String(Int64(abs(scaled)) / Int64(scale)) + "."
        var fraction = String(Int64(abs(scaled)) % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        text += fraction
        if trim {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        if magnitude == 0 { return trim ? "0" : text }
        return scaled < 0 ? "−" + text : text
    }
}

extension AnytimeInterval {
    /// Both ends, "+0.9 … +2.7" or "1.12 … ∞": an end the data cannot bound
    /// yet is ∞ (a ratio's lower end, 0). Ends are written by `end` — by default
    /// a ratio with two decimals or a signed difference — told which end it writes.
    public func endsText(ratio: Bool, separator: String = " … ", end: ((Double, _ isLow: Bool) -> String)? = nil) -> String {
        let write = end ?? { value, _ in ratio ? GateEvaluator.short(value) : GateEvaluator.signed(value) }
        let lowText = low.map { write($0, true) } ?? (ratio ? "0" : "−∞")
        let highText = high.map { write($0, false) } ?? "∞"
        return lowText + separator + highText
    }
}
