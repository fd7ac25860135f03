/// The per-variant report of an A/B experiment or a shadow comparison: the
/// figures, 95 % intervals, p-values against the control and a verdict in plain words.
public struct ExperimentReport: Codable, Hashable, Sendable {
    public struct Quantiles: Codable, Hashable, Sendable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
    }

    public struct Score: Codable, Hashable, Sendable {
        public var count: Int
        public var mean: Double
        public var low: Double?
        public var high: Double?
    }

    public struct Variant: Codable, Hashable, Sendable {
        public var name: String
        /// `control`, `variant` or `shadow`.
        public var role: String
        public var requests: Int
        public var errorRatePercent: Double?
        public var latencyMs: Quantiles?
        public var timeToFirstTokenMs: Quantiles?
        public var tokensPerRequest: Double?
        public var costPerRequest: Double?
        public var score: Score?
        /// Two-sided p-values against the control.
        public var pErrorRate: Double?
        public var pLatency: Double?
        public var pScore: Double?
        public var verdict: String
    }

    public struct Shadow: Codable, Hashable, Sendable {
        public var mirrored: Int
        public var compared: Int
        public var shadowErrors: Int
        public var droppedQueueFull: Int
        public var droppedBudget: Int
        public var finishReasonMatchPercent: Double?
        public var exactMatchPercent: Double?
        public var similarity: Score?
        public var shadowTokens: Int
        public var shadowCost: Double
    }

    public var route: String
    public var strategy: String
    public var state: String
    public var fromMilliseconds: Int64
    public var toMilliseconds: Int64
    public var variants: [Variant]
    public var shadow: Shadow?
    /// One paragraph a person can act on.
    public var summary: String

    /// Significance level for the report's plain-language verdicts.
    public static let alpha = 0.05

    /// An A/B report: the first variant is the control.
    public init(
        rollout: Rollout, variants names: [String], figures: [String: MetricsWindow.Bucket], scores: [String: ScoreSummary],
        from: Moment, to: Moment
    ) {
        route = rollout.route
        strategy = rollout.plan.strategy.rawValue
        state = rollout.state.rawValue
        fromMilliseconds = from.nanoseconds / 1_000_000
        toMilliseconds = to.nanoseconds / 1_000_000
        shadow = nil
        let control = names.first ?? rollout.stable
        let controlFigures = figures[control] ?? MetricsWindow.Bucket(start: 0)
        let controlScores = scores[control] ?? ScoreSummary([])
        variants = names.enumerated().map { index, name in
            Self.variant(
                name: name, role: index == 0 ? "control" : "variant", figures: figures[name] ?? MetricsWindow.Bucket(start: 0),
                scores: scores[name] ?? ScoreSummary([]), control: index == 0 ? nil : (control, controlFigures, controlScores)
            )
        }
        summary = variants.dropFirst().map(\.verdict).joined(separator: " ")
        if summary.isEmpty { summary = "no variants to compare" }
    }

    /// A shadow report: the stable deployment's figures against what the shadow answered to the same requests.
    public init(rollout: Rollout, primary: String, primaryFigures: MetricsWindow.Bucket, report: ShadowReport?, from: Moment, to: Moment) {
        route = rollout.route
        strategy = rollout.plan.strategy.rawValue
        state = rollout.state.rawValue
        fromMilliseconds = from.nanoseconds / 1_000_000
        toMilliseconds = to.nanoseconds / 1_000_000
        let report = report ?? ShadowReport(deployment: rollout.candidate ?? "")
        var primaryVariant = Self.variant(name: primary, role: "control", figures: primaryFigures, scores: ScoreSummary([]), control: nil)
        primaryVariant.verdict = "serves the clients"
        var shadowFigures = MetricsWindow.Bucket(start: 0)
        shadowFigures.requests = report.completed
        shadowFigures.outcomes[RequestOutcome.upstream5xx.rawValue] = report.shadowErrors
        shadowFigures.latency = report.shadowLatency
        shadowFigures.completionTokens = report.shadowTokens
        shadowFigures.cost = report.shadowCost
        var shadowVariant = Self.variant(name: report.deployment, role: "shadow", figures: shadowFigures, scores: ScoreSummary([]), control: nil)
        if let test = HypothesisTests.mannWhitney(baseline: report.primaryLatency.counts, candidate: report.shadowLatency.counts) {
            shadowVariant.pLatency = Self.twoSided(test.pValue)
        }
        let similarity = report.similarity
        let percent: (Int) -> Double? = { report.compared > 0 ? Double($0) / Double(report.compared) * 100 : nil }
        shadow = Shadow(
            mirrored: report.mirrored, compared: report.compared, shadowErrors: report.shadowErrors, droppedQueueFull: report.droppedQueueFull,
            droppedBudget: report.droppedBudget, finishReasonMatchPercent: percent(report.finishReasonMatches),
            exactMatchPercent: percent(report.exactMatches), similarity: Self.score(similarity), shadowTokens: report.shadowTokens,
            shadowCost: report.shadowCost
        )
        if report.compared == 0 {
            shadowVariant.verdict = "no shadow replies compared yet (\(report.mirrored) mirrored, \(report.droppedQueueFull + report.droppedBudget) dropped)"
        } else {
            var parts = ["\(report.deployment) answered \(report.compared) mirrored requests"]
            parts.append("same finish_reason in \(Self.format(percent(report.finishReasonMatches) ?? 0)) %")
            parts.append("identical text in \(Self.format(percent(report.exactMatches) ?? 0)) %")
            parts.append("mean similarity \(Self.format(similarity.mean))")
            if let p95 = report.shadowLatency.quantileMilliseconds(0.95), let base = report.primaryLatency.quantileMilliseconds(0.95), base > 0 {
                parts.append("p95 latency \(Self.format(p95 / base))× the client's")
            }
            shadowVariant.verdict = parts.joined(separator: ", ") + "."
        }
        variants = [primaryVariant, shadowVariant]
        summary = shadowVariant.verdict
    }

    static func twoSided(_ oneSided: Double) -> Double { min(1, 2 * min(oneSided, 1 - oneSided)) }

    static func score(_ summary: ScoreSummary) -> Score? {
        guard summary.count > 0 else { return nil }
        let interval = summary.interval(confidence: 0.95)
        return Score(count: summary.count, mean: summary.mean, low: interval?.lowerBound, high: interval?.upperBound)
    }

    static func quantiles(_ histogram: LatencyHistogram) -> Quantiles? {
        guard let p50 = histogram.quantileMilliseconds(0.5), let p95 = histogram.quantileMilliseconds(0.95), let p99 = histogram.quantileMilliseconds(0.99)
        else { return nil }
        return Quantiles(p50: p50, p95: p95, p99: p99)
    }

    static func variant(
        name: String, role: String, figures: MetricsWindow.Bucket, scores: ScoreSummary,
        control: (name: String, figures: MetricsWindow.Bucket, scores: ScoreSummary)?
    ) -> Variant {
        let errors = GateEvaluator.errorCounts(figures, count429: false)
        var variant = Variant(
            name: name, role: role, requests: figures.requests,
            errorRatePercent: errors.total > 0 ? Double(errors.events) / Double(errors.total) * 100 : nil,
            latencyMs: quantiles(figures.latency), timeToFirstTokenMs: quantiles(figures.timeToFirstToken),
            tokensPerRequest: figures.requests > 0 ? (Double(figures.promptTokens) + Double(figures.completionTokens)) / Double(figures.requests) : nil,
            costPerRequest: figures.requests > 0 ? figures.cost / Double(figures.requests) : nil,
            score: score(scores), pErrorRate: nil, pLatency: nil, pScore: nil, verdict: "the control"
        )
        guard let control else { return variant }
        let base = GateEvaluator.errorCounts(control.figures, count429: false)
        if let test = HypothesisTests.twoProportion(baselineEvents: base.events, baselineTotal: base.total, candidateEvents: errors.events, candidateTotal: errors.total) {
            variant.pErrorRate = twoSided(test.pValue)
        }
        if let test = HypothesisTests.mannWhitney(baseline: control.figures.latency.counts, candidate: figures.latency.counts) {
            variant.pLatency = twoSided(test.pValue)
        }
        if let test = HypothesisTests.welch(
            baselineMean: control.scores.mean, baselineVariance: control.scores.variance, baselineCount: control.scores.count,
            candidateMean: scores.mean, candidateVariance: scores.variance, candidateCount: scores.count
        ) {
            variant.pScore = twoSided(test.pValue)
        }
        variant.verdict = verdict(variant, control: control.name, controlFigures: control.figures, controlScores: control.scores)
        return variant
    }

    static func verdict(_ variant: Variant, control: String, controlFigures: MetricsWindow.Bucket, controlScores: ScoreSummary) -> String {
        guard variant.requests > 0, controlFigures.requests > 0 else {
            return "\(variant.name): not enough traffic yet to compare with \(control)."
        }
        var findings: [String] = []
        let controlErrors = GateEvaluator.errorCounts(controlFigures, count429: false)
        let controlRate = controlErrors.total > 0 ? Double(controlErrors.events) / Double(controlErrors.total) * 100 : 0
        if let p = variant.pErrorRate, p < alpha, let rate = variant.errorRatePercent {
            findings.append("\(rate > controlRate ? "more" : "fewer") errors (\(format(rate)) % vs \(format(controlRate)) %, \(pText(p)))")
        }
        if let p = variant.pLatency, p < alpha, let mine = variant.latencyMs?.p50, let theirs = controlFigures.latency.quantileMilliseconds(0.5) {
            findings.append("\(mine > theirs ? "slower" : "faster") (p50 \(Int(mine.rounded())) ms vs \(Int(theirs.rounded())) ms, \(pText(p)))")
        }
        if let p = variant.pScore, p < alpha, let mine = variant.score?.mean {
            findings.append("\(mine > controlScores.mean ? "better" : "worse") quality scores (\(format(mine)) vs \(format(controlScores.mean)), \(pText(p)))")
        }
        if findings.isEmpty {
            return "\(variant.name): no significant difference from \(control) at 95 % (n = \(variant.requests) vs \(controlFigures.requests))."
        }
        return "\(variant.name) vs \(control): " + findings.joined(separator: "; ") + "."
    }

    static func format(_ value: Double) -> String { GateEvaluator.format(value) }

    static func pText(_ p: Double) -> String { p < 0.0001 ? "p < 0.0001" : "p = \(format(p))" }
}
