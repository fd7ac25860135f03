/// One gate's judgement of a candidate against its baseline over one window:
/// what was measured on each side, the threshold, the anytime interval,
/// so anyone can see afterwards exactly why a rollout moved or stopped.
public struct GateVerdict: Hashable, Sendable, Codable {
    public enum Result: String, Hashable, Sendable, Codable, CaseIterable {
        case pass, fail, inconclusive, noData

        /// The worse of two results: fail > noData > inconclusive > pass.
        func worse(_ other: Result) -> Result {
            rank >= other.rank ? self : other
        }

        private var rank: Int {
            switch self {
            case .pass: 0
            case .inconclusive: 1
            case .noData: 2
            case .fail: 3
            }
        }
    }

    public var metric: RolloutPlan.Gate.Metric
    public var result: Result
    /// The deployments compared (the engine fills them in).
    public var baselineName: String?
    public var candidateName: String?
    /// The figure per side, in `unit` (`%`, `ms`, `$`, `score`).
    public var baseline: Double?
    public var candidate: Double?
    public var unit: String
    /// The compared figure: a difference in points, a ratio, or a score difference.
    public var measured: Double?
    /// The anytime-valid interval of `measured` at `confidence`, over all
    /// looks at once: the decision is made on it, not on `measured`.
    public var interval: AnytimeInterval?
    /// e.g. `Δ ≤ 1.0 pp`, `ratio ≤ 1.10`, `Δ ≥ -0.05`.
    public var threshold: String
    /// The limit in the compared figure's unit (`max`, or `min` for `qualityScore`).
    public var limit: Double?
    public var baselineSamples: Int
    public var candidateSamples: Int
    public var minSamples: Int
    /// `anytime difference of proportions`, `anytime quantile (beta-binomial)`,
    /// `anytime ratio of means`, `anytime difference of means`, or `none`.
    public var test: String
    /// The anytime-valid p-value that the figure is beyond the threshold
    /// (below `1 − confidence` exactly when the interval is); `nil` for quantile gates.
    public var pValue: Double?
    public var confidence: Double
    /// One plain sentence: why this result.
    public var reason: String

    /// A verdict with only its gate, result and reason filled in (a simulation's or another evaluator's).
    public init(metric: RolloutPlan.Gate.Metric, result: Result, reason: String, confidence: Double = 0.95) {
        self.init(
            metric: metric, result: result, baselineName: nil, candidateName: nil, baseline: nil, candidate: nil, unit: "", measured: nil,
            interval: nil, threshold: "", limit: nil, baselineSamples: 0, candidateSamples: 0, minSamples: 0, test: "", pValue: nil, confidence: confidence,
            reason: reason
        )
    }

    init(
        metric: RolloutPlan.Gate.Metric, result: Result, baselineName: String?, candidateName: String?, baseline: Double?, candidate: Double?,
        unit: String, measured: Double?, interval: AnytimeInterval?, threshold: String, limit: Double?, baselineSamples: Int, candidateSamples: Int,
        minSamples: Int, test: String, pValue: Double?, confidence: Double, reason: String
    ) {
        self.metric = metric
        self.result = result
        self.baselineName = baselineName
        self.candidateName = candidateName
        self.baseline = baseline
        self.candidate = candidate
        self.unit = unit
        self.measured = measured
        self.interval = interval
        self.threshold = threshold
        self.limit = limit
        self.baselineSamples = baselineSamples
        self.candidateSamples = candidateSamples
        self.minSamples = minSamples
        self.test = test
        self.pValue = pValue
        self.confidence = confidence
        self.reason = reason
    }

    /// The verdict over several gates: the worst single result.
    public static func overall(_ verdicts: [GateVerdict]) -> Result {
        verdicts.reduce(Result.pass) { $0.worse($1.result) }
    }
}

/// What one side of a comparison measured over the window.
public struct GateSide: Sendable {
    public var figures: MetricsWindow.Bucket
    public var scores: ScoreSummary
    /// Whether the side's circuit breaker is open now.
    public var breakerOpen: Bool

    public init(figures: MetricsWindow.Bucket, scores: ScoreSummary = ScoreSummary([]), breakerOpen: Bool = false) {
        self.figures = figures
        self.scores = scores
        self.breakerOpen = breakerOpen
    }
}
