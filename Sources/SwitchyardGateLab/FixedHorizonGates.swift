public import SwitchyardCore

/// The gates as they were before anytime-valid intervals — a fixed-sample
/// test (two-proportion z, Mann–Whitney U, Welch t) repeated at every look on
/// a sliding window — kept only so the simulation can show, on the same
/// streams, how often repeated looks made them roll back a healthy canary.
public enum FixedHorizonGates {
    public static func evaluate(_ gates: [RolloutPlan.Gate], baseline: MetricsWindow.Bucket, candidate: MetricsWindow.Bucket) -> [GateVerdict.Result] {
        gates.map { gate in
            let limit = gate.max ?? GateEvaluator.defaultLimit(gate.metric)
            switch gate.metric {
            case .errorRateDelta:
                let b = counts(baseline)
                let c = counts(candidate)
                guard b.total > 0, c.total > 0 else { return .noData }
                let rateB = Double(b.events) / Double(b.total) * 100
                let rateC = Double(c.events) / Double(c.total) * 100
                let test = HypothesisTests.twoProportion(
                    baselineEvents: b.events, baselineTotal: b.total, candidateEvents: c.events, candidateTotal: c.total, margin: limit / 100
                )
                return decide(gate, within: rateC - rateB <= limit, pValue: test?.pValue, samples: (b.total, c.total))
            case .p95LatencyRatio, .ttftP95Ratio:
                let b = gate.metric == .p95LatencyRatio ? baseline.latency : baseline.timeToFirstToken
                let c = gate.metric == .p95LatencyRatio ? candidate.latency : candidate.timeToFirstToken
                guard let qb = b.quantileMilliseconds(0.95), let qc = c.quantileMilliseconds(0.95), qb > 0 else { return .noData }
                let test = HypothesisTests.mannWhitney(baseline: b.counts, candidate: c.counts)
                return decide(gate, within: qc / qb <= limit, pValue: test?.pValue, samples: (b.total, c.total))
            default:
                return .inconclusive
            }
        }
    }

    static func counts(_ figures: MetricsWindow.Bucket) -> (events: Int, total: Int) {
        (figures.deploymentFailures, figures.requests - figures.count(.client4xx))
    }

    /// The old order of checks: significant and over the limit fails before the sample count is looked at.
    static func decide(_ gate: RolloutPlan.Gate, within: Bool, pValue: Double?, samples: (Int, Int)) -> GateVerdict.Result {
        if let pValue, pValue < 1 - gate.confidence, !within { return .fail }
        if samples.0 < gate.minSamples || samples.1 < gate.minSamples { return .inconclusive }
        return within ? .pass : .inconclusive
    }
}
