/// The per-variant report of an A/B experiment or a shadow comparison: the
/// figures, the same anytime-valid intervals against the control as the
/// gates use (valid however often the report is read), and a verdict in plain words.
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
        /// Against the control, at 95 %, anytime-valid: error rate difference
        /// in points, p95 latency ratio, quality score difference.
        public var errorRateDeltaInterval: AnytimeInterval?
        public var latencyP95RatioInterval: AnytimeInterval?
        public var scoreDeltaInterval: AnytimeInterval?
        /// Anytime-valid p-values for "no difference from the control" (below
        /// 0.05 exactly when the matching interval leaves out no difference).
        public var pErrorRate: Double?
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

    /// The confidence of the report's intervals.
    public static let confidence = 0.95
    /// Where the report's boundaries are tightest, per side (as a gate's default).
    static let plannedSamples = 1000

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
        shadowVariant.latencyP95RatioInterval = AnytimeComparison.quantileRatio(
            0.95, baseline: report.primaryLatency, candidate: report.shadowLatency, confidence: Self.confidence, plannedSamples: Self.plannedSamples
        )?.interval
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
            score: score(scores), errorRateDeltaInterval: nil, latencyP95RatioInterval: nil, scoreDeltaInterval: nil,
            pErrorRate: nil, pScore: nil, verdict: "the control"
        )
        guard let control else { return variant }
        let base = GateEvaluator.errorCounts(control.figures, count429: false)
        let errorRate = AnytimeComparison.proportionDifference(
            baselineEvents: base.events, baselineTotal: base.total, candidateEvents: errors.events, candidateTotal: errors.total,
            confidence: confidence, plannedSamples: plannedSamples
        )?.scaled(by: 100)
        variant.errorRateDeltaInterval = errorRate?.interval
        variant.pErrorRate = errorRate?.pValueOfNoDifference
        let latency = AnytimeComparison.quantileRatio(
            0.95, baseline: control.figures.latency, candidate: figures.latency, confidence: confidence, plannedSamples: plannedSamples
        )
        variant.latencyP95RatioInterval = latency?.interval
        let score = AnytimeComparison.meanDifference(baseline: control.scores, candidate: scores, confidence: confidence, plannedSamples: plannedSamples)
        variant.scoreDeltaInterval = score?.interval
        variant.pScore = score?.pValueOfNoDifference
        variant.verdict = verdict(variant, control: control.name, controlFigures: control.figures, errorRate: errorRate, latency: latency, score: score)
        return variant
    }

    /// What the intervals show, in words: only differences whose interval
    /// leaves out "no difference" are findings. With no variance on either
    /// side (0 errors of 200 against 0 of 200) that is never the case.
    static func verdict(
        _ variant: Variant, control: String, controlFigures: MetricsWindow.Bucket, errorRate: AnytimeEstimate?, latency: AnytimeEstimate?,
        score: AnytimeEstimate?
    ) -> String {
        guard variant.requests > 0, controlFigures.requests > 0 else {
            return "\(variant.name): not enough traffic yet to compare with \(control)."
        }
        var findings: [String] = []
        if let errorRate, let low = errorRate.interval.low, let high = errorRate.interval.high, low > 0 || high < 0 {
            findings.append(
                "\(low > 0 ? "more" : "fewer") errors (\(GateEvaluator.signed(errorRate.estimate)) pp, 95 % anytime interval "
                    + "\(errorRate.interval.endsText(ratio: false)) pp)"
            )
        }
        if let latency, latency.interval.low.map({ $0 > 1 }) ?? false || latency.interval.high.map({ $0 < 1 }) ?? false {
            let slower = latency.interval.low.map { $0 > 1 } ?? false
            findings.append(
                "\(slower ? "slower" : "faster") (p95 \(GateEvaluator.short(latency.estimate))× the control's, 95 % anytime interval \(latency.interval.endsText(ratio: true))×)"
            )
        }
        if let score, let low = score.interval.low, let high = score.interval.high, low > 0 || high < 0 {
            findings.append(
                "\(low > 0 ? "better" : "worse") quality scores (\(GateEvaluator.signed(score.estimate)), 95 % anytime interval "
                    + "\(score.interval.endsText(ratio: false)))"
            )
        }
        if findings.isEmpty {
            return "\(variant.name): no difference from \(control) that the data can show at 95 % "
                + "(n = \(GateEvaluator.grouped(variant.requests)) \(variant.name) / \(GateEvaluator.grouped(controlFigures.requests)) \(control))."
        }
        return "\(variant.name) vs \(control): " + findings.joined(separator: "; ") + "."
    }

    static func format(_ value: Double) -> String { GateEvaluator.format(value) }

}
