/// One gate's judgement of a candidate against its baseline over one window:
/// what was measured on each side, the threshold, the test and its p-value,
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
    /// e.g. `Δ ≤ 1.0 pp`, `ratio ≤ 1.10`, `Δ ≥ -0.05`.
    public var threshold: String
    public var baselineSamples: Int
    public var candidateSamples: Int
    public var minSamples: Int
    /// `two-proportion z`, `Mann-Whitney U`, `Welch t`, or `none`.
    public var test: String
    public var pValue: Double?
    public var confidence: Double
    /// One plain sentence: why this result.
    public var reason: String

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
