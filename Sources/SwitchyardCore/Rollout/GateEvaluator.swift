#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Judges a candidate against its baseline on one window, gate by gate.
///
/// Each gate says *fail* only when its test is significant at the gate's
/// confidence that the candidate is worse than the threshold allows; *pass*
/// when the observed figure is within the threshold with enough samples on
/// both sides; *inconclusive* when the figure is over the threshold but not
/// significantly so, or a side has fewer than `minSamples`; *noData* when a
/// side has nothing to measure at all.
public enum GateEvaluator {
    /// Thresholds used when a gate names none.
    public static func defaultLimit(_ metric: RolloutPlan.Gate.Metric) -> Double {
        switch metric {
        case .errorRateDelta, .contentFilterRate, .rate429, .circuitBreaker: 1.0
        case .p95LatencyRatio, .ttftP95Ratio, .costPerRequestRatio: 1.2
        case .qualityScore: -0.05
        }
    }

    public static func evaluate(_ gates: [RolloutPlan.Gate], baseline: GateSide, candidate: GateSide) -> [GateVerdict] {
        let count429 = gates.contains { $0.metric == .rate429 && $0.countAsFailure }
        var verdicts = gates.map { evaluate($0, baseline: baseline, candidate: candidate, count429AsFailure: count429) }
        // A dead canary gets no traffic once its breaker opens, so its error
        // rate can stay inconclusive for ever: an open breaker fails at once.
        if !gates.isEmpty, !gates.contains(where: { $0.metric == .circuitBreaker }), candidate.breakerOpen {
            verdicts.append(evaluate(RolloutPlan.Gate(metric: .circuitBreaker), baseline: baseline, candidate: candidate, count429AsFailure: count429))
        }
        return verdicts
    }

    public static func evaluate(_ gate: RolloutPlan.Gate, baseline: GateSide, candidate: GateSide, count429AsFailure: Bool) -> GateVerdict {
        switch gate.metric {
        case .errorRateDelta:
            let b = errorCounts(baseline.figures, count429: count429AsFailure)
            let c = errorCounts(candidate.figures, count429: count429AsFailure)
            return rateGate(gate, baseline: b, candidate: c, what: "error rate")
        case .rate429:
            let b = (events: baseline.figures.count(.upstream429), total: baseline.figures.requests - baseline.figures.count(.client4xx))
            let c = (events: candidate.figures.count(.upstream429), total: candidate.figures.requests - candidate.figures.count(.client4xx))
            var verdict = rateGate(gate, baseline: b, candidate: c, what: "upstream 429 rate")
            if gate.max == nil, verdict.result != .noData {
                verdict.result = .pass
                verdict.threshold = count429AsFailure ? "counted as failures" : "reported, not a model failure"
                verdict.reason = "upstream 429s are the provider's rate limit; " + (count429AsFailure ? "they count in the error rate" : "kept out of the error rate")
            }
            return verdict
        case .contentFilterRate:
            let b = (events: baseline.figures.count(.contentFilter), total: baseline.figures.requests - baseline.figures.count(.client4xx))
            let c = (events: candidate.figures.count(.contentFilter), total: candidate.figures.requests - candidate.figures.count(.client4xx))
            return rateGate(gate, baseline: b, candidate: c, what: "content-filter rate")
        case .p95LatencyRatio:
            return latencyGate(gate, baseline: baseline.figures.latency, candidate: candidate.figures.latency, what: "p95 latency")
        case .ttftP95Ratio:
            return latencyGate(gate, baseline: baseline.figures.timeToFirstToken, candidate: candidate.figures.timeToFirstToken, what: "p95 time to first token")
        case .costPerRequestRatio:
            return costGate(gate, baseline: baseline.figures, candidate: candidate.figures)
        case .qualityScore:
            return scoreGate(gate, baseline: baseline.scores, candidate: candidate.scores)
        case .circuitBreaker:
            var verdict = base(gate, unit: "", threshold: "closed", test: "none", samples: (baseline.figures.requests, candidate.figures.requests))
            verdict.result = candidate.breakerOpen ? .fail : .pass
            verdict.reason = candidate.breakerOpen
                ? "the candidate's circuit breaker is open: its upstream keeps failing (\(candidate.figures.deploymentFailures) failures in the window)"
                : "the candidate's circuit breaker is not open"
            return verdict
        }
    }

    /// Failures through the deployment's own fault over the requests that
    /// judged it: client errors are left out, and 429s unless counted.
    static func errorCounts(_ figures: MetricsWindow.Bucket, count429: Bool) -> (events: Int, total: Int) {
        let throttled = figures.count(.upstream429)
        let events = figures.deploymentFailures + (count429 ? throttled : 0)
        let total = figures.requests - figures.count(.client4xx) - (count429 ? 0 : throttled)
        return (events, max(0, total))
    }

    private static func base(_ gate: RolloutPlan.Gate, unit: String, threshold: String, test: String, samples: (Int, Int)) -> GateVerdict {
        GateVerdict(
            metric: gate.metric, result: .noData, baselineName: nil, candidateName: nil, baseline: nil, candidate: nil, unit: unit, measured: nil, threshold: threshold,
            baselineSamples: samples.0, candidateSamples: samples.1, minSamples: gate.minSamples, test: test, pValue: nil,
            confidence: gate.confidence, reason: ""
        )
    }

    /// Decides from the test once both sides have data: significant and over
    /// the limit fails; within the limit passes; otherwise inconclusive.
    private static func decide(_ verdict: inout GateVerdict, within: Bool, pValue: Double?, what: String) {
        let alpha = 1 - verdict.confidence
        let enough = verdict.baselineSamples >= verdict.minSamples && verdict.candidateSamples >= verdict.minSamples
        verdict.pValue = pValue
        if let pValue, pValue < alpha, !within {
            verdict.result = .fail
            verdict.reason = "\(what) is worse than \(verdict.threshold) (p = \(format(pValue)) < \(format(alpha)))"
        } else if !enough {
            verdict.result = .inconclusive
            verdict.reason = "needs \(verdict.minSamples) samples per side, has \(verdict.baselineSamples) and \(verdict.candidateSamples)"
        } else if within {
            verdict.result = .pass
            verdict.reason = "\(what) is within \(verdict.threshold)"
        } else {
            verdict.result = .inconclusive
            verdict.reason = "\(what) is over \(verdict.threshold) but not significantly (p = \(pValue.map(format) ?? "n/a") ≥ \(format(alpha)))"
        }
    }

    private static func rateGate(_ gate: RolloutPlan.Gate, baseline: (events: Int, total: Int), candidate: (events: Int, total: Int), what: String) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "%", threshold: "Δ ≤ \(format(limit)) pp", test: "two-proportion z", samples: (baseline.total, candidate.total))
        guard baseline.total > 0, candidate.total > 0 else {
            verdict.reason = "no requests on the \(baseline.total == 0 ? "baseline" : "candidate") side in the window"
            return verdict
        }
        let b = Double(baseline.events) / Double(baseline.total) * 100
        let c = Double(candidate.events) / Double(candidate.total) * 100
        verdict.baseline = b
        verdict.candidate = c
        verdict.measured = c - b
        let test = HypothesisTests.twoProportion(
            baselineEvents: baseline.events, baselineTotal: baseline.total, candidateEvents: candidate.events, candidateTotal: candidate.total,
            margin: limit / 100
        )
        decide(&verdict, within: c - b <= limit, pValue: test?.pValue, what: what)
        return verdict
    }

    private static func latencyGate(_ gate: RolloutPlan.Gate, baseline: LatencyHistogram, candidate: LatencyHistogram, what: String) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "ms", threshold: "ratio ≤ \(format(limit))", test: "Mann-Whitney U", samples: (baseline.total, candidate.total))
        guard let b = baseline.quantileMilliseconds(0.95), let c = candidate.quantileMilliseconds(0.95), b > 0 else {
            verdict.reason = "no \(what) samples on the \(baseline.total == 0 ? "baseline" : "candidate") side in the window"
            return verdict
        }
        verdict.baseline = b
        verdict.candidate = c
        verdict.measured = c / b
        let test = HypothesisTests.mannWhitney(baseline: baseline.counts, candidate: candidate.counts)
        decide(&verdict, within: c / b <= limit, pValue: test?.pValue, what: what)
        return verdict
    }

    private static func costGate(_ gate: RolloutPlan.Gate, baseline: MetricsWindow.Bucket, candidate: MetricsWindow.Bucket) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "$", threshold: "ratio ≤ \(format(limit))", test: "Welch t", samples: (baseline.requests, candidate.requests))
        guard baseline.requests > 0, candidate.requests > 0, baseline.cost > 0 else {
            verdict.reason = baseline.requests > 0 && candidate.requests > 0
                ? "the baseline has no cost to compare with (no prices or no token usage)"
                : "no requests on the \(baseline.requests == 0 ? "baseline" : "candidate") side in the window"
            return verdict
        }
        func summary(_ figures: MetricsWindow.Bucket) -> ScoreSummary {
            let n = Double(figures.requests)
            let mean = figures.cost / n
            let variance = figures.requests < 2 ? 0 : max(0, (figures.costSquares - n * mean * mean) / (n - 1))
            return ScoreSummary(count: figures.requests, mean: mean, variance: variance)
        }
        let b = summary(baseline)
        let c = summary(candidate)
        verdict.baseline = b.mean
        verdict.candidate = c.mean
        verdict.measured = c.mean / b.mean
        // H₀: candidate ≤ limit × baseline, treating the baseline's mean as the reference.
        let test = HypothesisTests.welch(
            baselineMean: b.mean, baselineVariance: b.variance, baselineCount: b.count,
            candidateMean: c.mean, candidateVariance: c.variance, candidateCount: c.count,
            margin: (limit - 1) * b.mean
        )
        decide(&verdict, within: c.mean / b.mean <= limit, pValue: test?.pValue, what: "cost per request")
        return verdict
    }

    private static func scoreGate(_ gate: RolloutPlan.Gate, baseline: ScoreSummary, candidate: ScoreSummary) -> GateVerdict {
        let limit = gate.min ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "score", threshold: "Δ ≥ \(format(limit))", test: "Welch t", samples: (baseline.count, candidate.count))
        guard baseline.count > 0, candidate.count > 0 else {
            verdict.reason = "no feedback scores for the \(baseline.count == 0 ? "baseline" : "candidate") in the window"
            return verdict
        }
        verdict.baseline = baseline.mean
        verdict.candidate = candidate.mean
        verdict.measured = candidate.mean - baseline.mean
        // Worse means lower: test whether baseline − candidate exceeds −limit.
        let test = HypothesisTests.welch(
            baselineMean: candidate.mean, baselineVariance: candidate.variance, baselineCount: candidate.count,
            candidateMean: baseline.mean, candidateVariance: baseline.variance, candidateCount: baseline.count,
            margin: -limit
        )
        decide(&verdict, within: candidate.mean - baseline.mean >= limit, pValue: test?.pValue, what: "mean quality score")
        return verdict
    }

    static func format(_ value: Double) -> String {
        if value == 0 { return "0" }
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "∞" : "-∞") }
        if abs(value) >= 0.01 {
            let rounded = (value * 1000).rounded() / 1000
            var text = "\(rounded)"
            if text.hasSuffix(".0") { text.removeLast(2) }
            return text
        }
        let exponent = Int((log10(abs(value))).rounded(.down))
        let mantissa = (value / pow(10, Double(exponent)) * 10).rounded() / 10
        return "\(mantissa)e\(exponent)"
    }
}
