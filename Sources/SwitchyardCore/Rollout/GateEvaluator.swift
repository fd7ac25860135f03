#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Judges a candidate against its baseline, gate by gate, with anytime-valid
/// intervals: the gates may look at the data every second for as long as a
/// rollout runs and still fail a healthy candidate no more often than
/// 1 − confidence (see `AnytimeComparison` and docs/rollouts.md).
///
/// Each gate computes the interval of its figure (a difference in points, a
/// ratio, a score difference) over everything both sides served since the
/// rollout began, then decides:
/// - **fail** when the interval lies wholly beyond the limit — at any sample
///   size, since such an interval is decisive on its own;
/// - **pass** when it lies wholly within the limit *and* both sides have
///   `minSamples`;
/// - **inconclusive** otherwise; **noData** when a side has nothing to measure.
public enum GateEvaluator {
    /// What the two sides are called in sentences: stable/canary, control/variant.
    public struct Roles: Sendable, Hashable {
        public var baseline: String
        public var candidate: String

        public init(baseline: String, candidate: String) {
            self.baseline = baseline
            self.candidate = candidate
        }

        public static let canary = Roles(baseline: "stable", candidate: "canary")
    }

    /// Thresholds used when a gate names none.
    public static func defaultLimit(_ metric: RolloutPlan.Gate.Metric) -> Double {
        switch metric {
        case .errorRateDelta, .contentFilterRate, .rate429, .circuitBreaker: 1.0
        case .p95LatencyRatio, .ttftP95Ratio, .costPerRequestRatio: 1.2
        case .qualityScore: -0.05
        }
    }

    /// The per-side sample size at which a gate's boundary is tightest. Larger
    /// than `minSamples` because a gate cannot pass before then anyway, and a
    /// boundary tuned too early widens later (docs/rollouts.md has the measurements).
    public static func plannedSamples(_ gate: RolloutPlan.Gate) -> Int {
        max(gate.minSamples, 1000)
    }

    public static func evaluate(_ gates: [RolloutPlan.Gate], baseline: GateSide, candidate: GateSide, roles: Roles = .canary) -> [GateVerdict] {
        let count429 = gates.contains { $0.metric == .rate429 && $0.countAsFailure }
        var verdicts = gates.map { evaluate($0, baseline: baseline, candidate: candidate, count429AsFailure: count429, roles: roles) }
        // A dead canary gets no traffic once its breaker opens, so its error
        // rate can stay inconclusive for ever: an open breaker fails at once.
        if !gates.isEmpty, !gates.contains(where: { $0.metric == .circuitBreaker }), candidate.breakerOpen {
            verdicts.append(evaluate(RolloutPlan.Gate(metric: .circuitBreaker), baseline: baseline, candidate: candidate, count429AsFailure: count429, roles: roles))
        }
        return verdicts
    }

    public static func evaluate(
        _ gate: RolloutPlan.Gate, baseline: GateSide, candidate: GateSide, count429AsFailure: Bool, roles: Roles = .canary
    ) -> GateVerdict {
        switch gate.metric {
        case .errorRateDelta:
            let b = errorCounts(baseline.figures, count429: count429AsFailure)
            let c = errorCounts(candidate.figures, count429: count429AsFailure)
            return rateGate(gate, baseline: b, candidate: c, what: "error rate", roles: roles)
        case .rate429:
            let b = (events: baseline.figures.count(.upstream429), total: baseline.figures.requests - baseline.figures.count(.client4xx))
            let c = (events: candidate.figures.count(.upstream429), total: candidate.figures.requests - candidate.figures.count(.client4xx))
            var verdict = rateGate(gate, baseline: b, candidate: c, what: "upstream 429 rate", roles: roles)
            if gate.max == nil, verdict.result != .noData {
                verdict.result = .pass
                verdict.threshold = count429AsFailure ? "counted as failures" : "reported, not a model failure"
                verdict.reason = "upstream 429s are the provider's rate limit; " + (count429AsFailure ? "they count in the error rate" : "kept out of the error rate")
            }
            return verdict
        case .contentFilterRate:
            let b = (events: baseline.figures.count(.contentFilter), total: baseline.figures.requests - baseline.figures.count(.client4xx))
            let c = (events: candidate.figures.count(.contentFilter), total: candidate.figures.requests - candidate.figures.count(.client4xx))
            return rateGate(gate, baseline: b, candidate: c, what: "content-filter rate", roles: roles)
        case .p95LatencyRatio:
            return quantileGate(gate, baseline: baseline.figures.latency, candidate: candidate.figures.latency, what: "p95 latency", roles: roles)
        case .ttftP95Ratio:
            return quantileGate(gate, baseline: baseline.figures.timeToFirstToken, candidate: candidate.figures.timeToFirstToken, what: "p95 time to first token", roles: roles)
        case .costPerRequestRatio:
            return costGate(gate, baseline: baseline.figures, candidate: candidate.figures, roles: roles)
        case .qualityScore:
            return scoreGate(gate, baseline: baseline.scores, candidate: candidate.scores, roles: roles)
        case .circuitBreaker:
            var verdict = base(gate, unit: "", threshold: "closed", test: "none", samples: (baseline.figures.requests, candidate.figures.requests))
            verdict.result = candidate.breakerOpen ? .fail : .pass
            verdict.reason = candidate.breakerOpen
                ? "the \(roles.candidate)'s circuit breaker is open: its upstream keeps failing (\(candidate.figures.deploymentFailures) failures) → roll back"
                : "the \(roles.candidate)'s circuit breaker is not open"
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
            metric: gate.metric, result: .noData, baselineName: nil, candidateName: nil, baseline: nil, candidate: nil, unit: unit, measured: nil,
            interval: nil, threshold: threshold, limit: nil, baselineSamples: samples.0, candidateSamples: samples.1, minSamples: gate.minSamples, test: test,
            pValue: nil, confidence: gate.confidence, reason: ""
        )
    }

    /// How a gate's figure reads in a sentence.
    private struct Phrasing {
        /// "error rate", "p95 latency".
        var what: String
        /// "1.8 pp above stable", "1.32× stable's".
        var comparison: (Double) -> String
    }

    /// Decides from the interval and writes the sentence a person reads:
    /// "canary error rate 1.8 pp above stable (95 % anytime interval +0.9 … +2.7 pp,
    /// n = 498 canary / 4 812 stable), limit 1 pp → roll back".
    private static func decide(
        _ verdict: inout GateVerdict, estimate: AnytimeEstimate, limit: Double, higherIsWorse: Bool, phrasing: Phrasing, roles: Roles
    ) {
        let interval = estimate.interval
        verdict.measured = estimate.estimate
        verdict.interval = interval
        verdict.limit = limit
        verdict.pValue = estimate.pValue(beyond: limit, higherIsWorse: higherIsWorse)
        let beyond = higherIsWorse ? interval.low.map { $0 > limit } ?? false : interval.high.map { $0 < limit } ?? false
        let within = higherIsWorse ? interval.high.map { $0 <= limit } ?? false : interval.low.map { $0 >= limit } ?? false
        let enough = verdict.baselineSamples >= verdict.minSamples && verdict.candidateSamples >= verdict.minSamples
        let outcome: String
        if beyond {
            verdict.result = .fail
            outcome = "roll back"
        } else if within && enough {
            verdict.result = .pass
            outcome = "pass"
        } else if within {
            verdict.result = .inconclusive
            let what = verdict.metric == .qualityScore ? "scores" : "requests"
            outcome = "within the limit, waiting for \(grouped(verdict.minSamples)) \(what) per side "
                + "(\(roles.candidate) has \(grouped(verdict.candidateSamples)), \(roles.baseline) \(grouped(verdict.baselineSamples)))"
        } else {
            verdict.result = .inconclusive
            outcome = "not decided yet: the interval still reaches past the limit"
        }
        verdict.reason = "\(roles.candidate) \(phrasing.what) \(phrasing.comparison(estimate.estimate)) "
            + "(\(format(verdict.confidence * 100)) % anytime interval \(verdict.intervalText ?? "unbounded"), "
            + "n = \(grouped(verdict.candidateSamples)) \(roles.candidate) / \(grouped(verdict.baselineSamples)) \(roles.baseline)), "
            + "limit \(verdict.limitText ?? format(limit)) → \(outcome)"
    }

    private static func rateGate(
        _ gate: RolloutPlan.Gate, baseline: (events: Int, total: Int), candidate: (events: Int, total: Int), what: String, roles: Roles
    ) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "%", threshold: "Δ ≤ \(format(limit)) pp", test: "anytime difference of proportions", samples: (baseline.total, candidate.total))
        guard baseline.total > 0, candidate.total > 0,
            let estimate = AnytimeComparison.proportionDifference(
                baselineEvents: baseline.events, baselineTotal: baseline.total, candidateEvents: candidate.events, candidateTotal: candidate.total,
                confidence: gate.confidence, plannedSamples: plannedSamples(gate)
            )
        else {
            verdict.reason = baseline.total > 0 && candidate.total > 0
                ? "the counts do not add up (more events than requests): the measured figures are damaged"
                : "no requests on the \(baseline.total == 0 ? roles.baseline : roles.candidate) side yet"
            return verdict
        }
        verdict.baseline = Double(baseline.events) / Double(baseline.total) * 100
        verdict.candidate = Double(candidate.events) / Double(candidate.total) * 100
        let phrasing = Phrasing(
            what: what,
            comparison: { points in
                if abs(points) < 0.005 { return "the same as \(roles.baseline)'s" }
                return "\(short(abs(points))) pp \(points > 0 ? "above" : "below") \(roles.baseline)"
            }
        )
        decide(&verdict, estimate: estimate.scaled(by: 100), limit: limit, higherIsWorse: true, phrasing: phrasing, roles: roles)
        return verdict
    }

    private static func quantileGate(
        _ gate: RolloutPlan.Gate, baseline: LatencyHistogram, candidate: LatencyHistogram, what: String, roles: Roles
    ) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "ms", threshold: "ratio ≤ \(format(limit))", test: "anytime quantile (beta-binomial)", samples: (baseline.total, candidate.total))
        guard let b = baseline.quantileMilliseconds(0.95), let c = candidate.quantileMilliseconds(0.95), b > 0,
            let estimate = AnytimeComparison.quantileRatio(0.95, baseline: baseline, candidate: candidate, confidence: gate.confidence, plannedSamples: plannedSamples(gate))
        else {
            verdict.reason = "no \(what) samples on the \(baseline.total == 0 ? roles.baseline : roles.candidate) side yet"
            return verdict
        }
        verdict.baseline = b
        verdict.candidate = c
        let phrasing = Phrasing(what: what, comparison: { "\(ratioText($0))× \(roles.baseline)'s" })
        decide(&verdict, estimate: estimate, limit: limit, higherIsWorse: true, phrasing: phrasing, roles: roles)
        return verdict
    }

    private static func costGate(_ gate: RolloutPlan.Gate, baseline: MetricsWindow.Bucket, candidate: MetricsWindow.Bucket, roles: Roles) -> GateVerdict {
        let limit = gate.max ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "$", threshold: "ratio ≤ \(format(limit))", test: "anytime ratio of means", samples: (baseline.requests, candidate.requests))
        guard baseline.requests > 0, candidate.requests > 0, baseline.cost > 0 else {
            verdict.reason = baseline.requests > 0 && candidate.requests > 0
                ? "the \(roles.baseline) has no cost to compare with (no prices or no token usage)"
                : "no requests on the \(baseline.requests == 0 ? roles.baseline : roles.candidate) side yet"
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
        guard let estimate = AnytimeComparison.meanRatio(baseline: b, candidate: c, confidence: gate.confidence, plannedSamples: plannedSamples(gate)) else {
            verdict.result = .inconclusive
            verdict.reason = "needs at least two priced requests per side"
            return verdict
        }
        let phrasing = Phrasing(what: "cost per request", comparison: { "\(ratioText($0))× \(roles.baseline)'s" })
        decide(&verdict, estimate: estimate, limit: limit, higherIsWorse: true, phrasing: phrasing, roles: roles)
        return verdict
    }

    private static func scoreGate(_ gate: RolloutPlan.Gate, baseline: ScoreSummary, candidate: ScoreSummary, roles: Roles) -> GateVerdict {
        let limit = gate.min ?? defaultLimit(gate.metric)
        var verdict = base(gate, unit: "score", threshold: "Δ ≥ \(format(limit))", test: "anytime difference of means", samples: (baseline.count, candidate.count))
        guard baseline.count > 0, candidate.count > 0 else {
            verdict.reason = "no feedback scores for the \(baseline.count == 0 ? roles.baseline : roles.candidate) yet"
            return verdict
        }
        verdict.baseline = baseline.mean
        verdict.candidate = candidate.mean
        verdict.measured = candidate.mean - baseline.mean
        guard let estimate = AnytimeComparison.meanDifference(baseline: baseline, candidate: candidate, confidence: gate.confidence, plannedSamples: plannedSamples(gate)) else {
            verdict.result = .inconclusive
            verdict.reason = "needs at least two scores per side"
            return verdict
        }
        let phrasing = Phrasing(
            what: "mean quality score",
            comparison: { difference in
                if abs(difference) < 0.0005 { return "the same as \(roles.baseline)'s" }
                return "\(short(abs(difference))) \(difference > 0 ? "above" : "below") \(roles.baseline)"
            }
        )
        decide(&verdict, estimate: estimate, limit: limit, higherIsWorse: false, phrasing: phrasing, roles: roles)
        return verdict
    }

    /// "1.50": a ratio, always with two decimals.
    static func ratioText(_ value: Double) -> String {
        GateVerdict.fixed(value, decimals: 2, rounding: .toNearestOrAwayFromZero, trim: false)
    }

    /// "+1.8", "−0.32", "0": signed, two decimals at most.
    public static func signed(_ value: Double) -> String {
        let text = short(abs(value))
        if text == "0" { return text }
        return (value > 0 ? "+" : "−") + text
    }

    /// Two decimals at most (one from 10 up), trailing zeros dropped: 1.8, 0.35, 12.5.
    public static func short(_ value: Double) -> String {
        GateVerdict.fixed(value, decimals: abs(value) >= 10 ? 1 : 2, rounding: .toNearestOrAwayFromZero, trim: true)
    }

    /// 4812 → "4 812": counts a tired eye can read.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(" ") }
            text.append(digit)
        }
        return (value < 0 ? "-" : "") + text
    }

    /// Up to three decimals, or a short exponent form for tiny values: 0.367, 4.2e-5.
    public static func format(_ value: Double) -> String {
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
