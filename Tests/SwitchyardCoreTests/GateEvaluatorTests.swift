import Testing
@testable import SwitchyardCore

@Suite("Analysis gates judge a candidate against its baseline")
struct GateEvaluatorTests {
    static func side(requests: Int, failures: Int = 0, throttled: Int = 0, latencyMs: Double = 100, cost: Double = 0.004) -> GateSide {
        var window = MetricsWindow()
        let now = Moment(seconds: 1_000)
        for index in 0..<requests {
            let outcome: RequestOutcome = index < failures ? .upstream5xx : (index < failures + throttled ? .upstream429 : .success)
            window.record(
                .init(outcome: outcome, latency: .microseconds(Int64(latencyMs * 1000 * (1 + Double(index % 10) / 20))), timeToFirstToken: .milliseconds(50), cost: outcome == .success ? cost : 0),
                at: now
            )
        }
        return GateSide(figures: window.aggregate(window: .seconds(10), now: now))
    }

    func gate(_ metric: RolloutPlan.Gate.Metric, max: Double? = nil, min: Double? = nil, minSamples: Int = 100, countAsFailure: Bool = true) -> RolloutPlan.Gate {
        RolloutPlan.Gate(metric: metric, max: max, min: min, minSamples: minSamples, confidence: 0.95, countAsFailure: countAsFailure)
    }

    @Test func aCanaryFailingFiveTimesAsOftenFailsWithItsIntervalInWords() {
        let verdict = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 50))[0]
        #expect(verdict.result == .fail)
        #expect(verdict.baseline == 1.0)
        #expect(verdict.candidate == 5.0)
        #expect(verdict.measured == 4.0)
        #expect(verdict.interval!.low! > 1.0, "the whole interval is past the limit")
        #expect(verdict.pValue! < 0.05)
        #expect(verdict.test == "anytime difference of proportions")
        #expect(
            verdict.reason
                == "canary error rate 4 pp above stable (95 % anytime interval +1.32 … +6.68 pp, n = 1 000 canary / 1 000 stable), limit 1 pp → roll back"
        )
    }

    @Test func aSimilarCanaryPassesOnceTheIntervalIsWithinTheLimit() {
        let early = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 12))[0]
        #expect(early.result == .inconclusive, "±1.4 pp at 1 000 a side still reaches past 1 pp")
        #expect(early.reason.hasSuffix("→ not decided yet: the interval still reaches past the limit"))
        let later = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 10_000, failures: 100), candidate: Self.side(requests: 10_000, failures: 110))[0]
        #expect(later.result == .pass)
        #expect(later.interval!.high! < 1.0)
        #expect(later.reason.hasSuffix("limit 1 pp → pass"))
    }

    @Test func intervalEndsRoundOutwardAndNeverReadAsTheLimit() {
        var verdict = GateVerdict(metric: .errorRateDelta, result: .fail, reason: "")
        verdict.limit = 1
        verdict.interval = AnytimeInterval(low: 1.0042, high: 2.701)
        #expect(verdict.intervalText == "+1.004 … +2.71 pp", "a low end just past the limit must not print as the limit")
        #expect(verdict.limitText == "1 pp")
        verdict.interval = AnytimeInterval(low: nil, high: 0.5)
        #expect(verdict.intervalText == "≤ +0.5 pp")
        var ratio = GateVerdict(metric: .p95LatencyRatio, result: .inconclusive, reason: "")
        ratio.limit = 1.2
        ratio.interval = AnytimeInterval(low: 1.12, high: nil)
        #expect(ratio.intervalText == "≥ 1.12×")
        #expect(ratio.limitText == "1.20×")
        var score = GateVerdict(metric: .qualityScore, result: .pass, reason: "")
        score.limit = -0.05
        score.interval = AnytimeInterval(low: -0.031, high: 0.12)
        #expect(score.intervalText == "−0.04 … +0.12")
        #expect(score.limitText == "−0.05")
    }

    @Test func tooFewSamplesIsInconclusiveAndNoneIsNoData() {
        let few = GateEvaluator.evaluate([gate(.errorRateDelta, minSamples: 200)], baseline: Self.side(requests: 50), candidate: Self.side(requests: 50))[0]
        #expect(few.result == .inconclusive)
        let none = GateEvaluator.evaluate([gate(.errorRateDelta)], baseline: Self.side(requests: 50), candidate: Self.side(requests: 0))[0]
        #expect(none.result == .noData)
        #expect(GateVerdict.overall([few, none]) == .noData)
        // Within the limit but short of minSamples: never a pass.
        let tight = GateEvaluator.evaluate([gate(.errorRateDelta, max: 5, minSamples: 20_000)], baseline: Self.side(requests: 10_000), candidate: Self.side(requests: 10_000))[0]
        #expect(tight.result == .inconclusive)
        #expect(tight.reason.hasSuffix("→ within the limit, waiting for 20 000 requests per side (canary has 10 000, stable 10 000)"))
    }

    @Test func oneFailedCanaryRequestAgainstAFlawlessBaselineIsNotARollback() {
        // The old z-test saw no variance here and returned p = 0.
        for (baseline, canary) in [(300, 1), (5000, 3), (200, 10)] {
            let verdict = GateEvaluator.evaluate(
                [gate(.errorRateDelta, max: 0, minSamples: 200)], baseline: Self.side(requests: baseline), candidate: Self.side(requests: canary, failures: 1)
            )[0]
            #expect(verdict.result == .inconclusive, "1 failure of \(canary) against 0 of \(baseline): \(verdict.reason)")
        }
    }

    @Test func aRateLimitStormIsNotTheModelsFault() {
        let gates = [gate(.errorRateDelta, max: 1.0), gate(.rate429, countAsFailure: false)]
        // Of the canary's 10 000 requests, 6 000 are throttled and 1 % of the rest fail, as on stable.
        let verdicts = GateEvaluator.evaluate(gates, baseline: Self.side(requests: 10_000, failures: 100), candidate: Self.side(requests: 10_000, failures: 40, throttled: 6000))
        #expect(verdicts[0].result == .pass)
        #expect(verdicts[0].candidateSamples == 4000)
        #expect(verdicts[1].result == .pass)
        #expect(verdicts[1].candidate == 60)
        // Counted as failures, the same storm fails the rollout.
        let counted = GateEvaluator.evaluate(
            [gate(.errorRateDelta, max: 1.0), gate(.rate429, countAsFailure: true)], baseline: Self.side(requests: 10_000, failures: 100),
            candidate: Self.side(requests: 10_000, failures: 40, throttled: 6000)
        )
        #expect(counted[0].result == .fail)
    }

    @Test func slowerLatencyFailsTheRatioGate() {
        let verdict = GateEvaluator.evaluate([gate(.p95LatencyRatio, max: 1.1)], baseline: Self.side(requests: 500, latencyMs: 100), candidate: Self.side(requests: 500, latencyMs: 150))[0]
        #expect(verdict.result == .fail)
        #expect(verdict.measured! > 1.3)
        #expect(verdict.interval!.low! > 1.1)
        #expect(verdict.test == "anytime quantile (beta-binomial)")
        #expect(verdict.reason.hasPrefix("canary p95 latency 1.39× stable's (95 % anytime interval 1.14 … 1.53×, n = 500 canary / 500 stable), limit 1.10× → roll back"), "\(verdict.reason)")
        let same = GateEvaluator.evaluate([gate(.p95LatencyRatio, max: 1.2)], baseline: Self.side(requests: 5000), candidate: Self.side(requests: 5000))[0]
        #expect(same.result == .pass, "\(same.reason)")
        let few = GateEvaluator.evaluate([gate(.p95LatencyRatio, max: 1.2)], baseline: Self.side(requests: 30), candidate: Self.side(requests: 30))[0]
        #expect(few.result == .inconclusive)
        #expect(few.interval?.high == nil, "30 samples cannot bound a p95 from above: \(few.reason)")
    }

    @Test func anOpenBreakerOnTheCandidateFailsEveryPlanWithGates() {
        var dead = Self.side(requests: 200, failures: 5)
        dead.breakerOpen = true
        let verdicts = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 1000), candidate: dead)
        #expect(verdicts.map(\.metric) == [.errorRateDelta, .circuitBreaker])
        #expect(verdicts[0].result != .fail, "5 of 200 is not yet significant")
        #expect(verdicts[1].result == .fail)
        #expect(GateVerdict.overall(verdicts) == .fail)
        #expect(GateEvaluator.evaluate([], baseline: Self.side(requests: 10), candidate: dead).isEmpty, "no gates, no verdicts")
    }

    @Test func costAndScoreGates() {
        let cost = GateEvaluator.evaluate([gate(.costPerRequestRatio, max: 1.2)], baseline: Self.side(requests: 300, cost: 0.004), candidate: Self.side(requests: 300, cost: 0.006))[0]
        #expect(cost.result == .fail)
        #expect(abs(cost.measured! - 1.5) < 1e-9)
        let worse = GateSide(figures: MetricsWindow.Bucket(start: 0), scores: ScoreSummary((0..<60).map { Double($0 % 3) * 0.1 + 0.3 }))
        let better = GateSide(figures: MetricsWindow.Bucket(start: 0), scores: ScoreSummary((0..<60).map { Double($0 % 3) * 0.1 + 0.7 }))
        let score = GateEvaluator.evaluate([gate(.qualityScore, min: -0.05, minSamples: 30)], baseline: better, candidate: worse)[0]
        #expect(score.result == .fail)
        #expect(score.test == "anytime difference of means")
        #expect(score.reason.contains("limit −0.05 → roll back"), "\(score.reason)")
        let fine = GateEvaluator.evaluate([gate(.qualityScore, min: -0.05, minSamples: 30)], baseline: worse, candidate: better)[0]
        #expect(fine.result == .pass)
    }
}
