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

    /// One compared figure without its unit: "+1.8", "−0.3", "1.32".
    public func figureText(_ value: Double) -> String {
        comparesRatio ? GateEvaluator.short(value) : GateEvaluator.signed(value)
    }

    /// The measured difference or ratio with its unit: "+1.8 pp", "1.32×".
    public var measuredText: String? {
        measured.map { figureText($0) + figureUnit }
    }

    /// The anytime interval with its unit: "+0.9 … +2.7 pp", "1.12 … ∞×" —
    /// an end the data cannot bound yet is infinite (a ratio's lower end is 0).
    public var intervalText: String? {
        guard let interval else { return nil }
        let low = interval.low.map(figureText) ?? (comparesRatio ? "0" : "−∞")
        let high = interval.high.map(figureText) ?? (comparesRatio ? "∞" : "+∞")
        return "\(low) … \(high)\(figureUnit)"
    }
}
