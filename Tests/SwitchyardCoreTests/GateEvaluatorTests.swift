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

    @Test func aCanaryFailingFiveTimesAsOftenFails() {
        let verdict = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 50))[0]
        #expect(verdict.result == .fail)
        #expect(verdict.baseline == 1.0)
        #expect(verdict.candidate == 5.0)
        #expect(verdict.measured == 4.0)
        #expect(verdict.pValue! < 0.05)
        #expect(verdict.test == "two-proportion z")
        #expect(verdict.reason.contains("error rate is worse than Δ ≤ 1 pp"))
    }

    @Test func aSimilarCanaryPasses() {
        let verdict = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0)], baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 12))[0]
        #expect(verdict.result == .pass)
    }

    @Test func tooFewSamplesIsInconclusiveAndNoneIsNoData() {
        let few = GateEvaluator.evaluate([gate(.errorRateDelta, minSamples: 200)], baseline: Self.side(requests: 50), candidate: Self.side(requests: 50))[0]
        #expect(few.result == .inconclusive)
        #expect(few.reason == "needs 200 samples per side, has 50 and 50")
        let none = GateEvaluator.evaluate([gate(.errorRateDelta)], baseline: Self.side(requests: 50), candidate: Self.side(requests: 0))[0]
        #expect(none.result == .noData)
        #expect(GateVerdict.overall([few, none]) == .noData)
    }

    @Test func aRateLimitStormIsNotTheModelsFault() {
        let gates = [gate(.errorRateDelta, max: 1.0), gate(.rate429, countAsFailure: false)]
        // Of the canary's 1 000 requests, 600 are throttled and 1 % of the rest fail, as on stable.
        let verdicts = GateEvaluator.evaluate(gates, baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 4, throttled: 600))
        #expect(verdicts[0].result == .pass)
        #expect(verdicts[0].candidateSamples == 400)
        #expect(verdicts[1].result == .pass)
        #expect(verdicts[1].candidate == 60)
        // Counted as failures, the same storm fails the rollout.
        let counted = GateEvaluator.evaluate([gate(.errorRateDelta, max: 1.0), gate(.rate429, countAsFailure: true)], baseline: Self.side(requests: 1000, failures: 10), candidate: Self.side(requests: 1000, failures: 4, throttled: 600))
        #expect(counted[0].result == .fail)
    }

    @Test func slowerLatencyFailsTheRatioGate() {
        let verdict = GateEvaluator.evaluate([gate(.p95LatencyRatio, max: 1.1)], baseline: Self.side(requests: 500, latencyMs: 100), candidate: Self.side(requests: 500, latencyMs: 150))[0]
        #expect(verdict.result == .fail)
        #expect(verdict.measured! > 1.3)
        #expect(verdict.test == "Mann-Whitney U")
        let same = GateEvaluator.evaluate([gate(.p95LatencyRatio, max: 1.1)], baseline: Self.side(requests: 500), candidate: Self.side(requests: 500))[0]
        #expect(same.result == .pass)
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
        #expect(score.test == "Welch t")
        let fine = GateEvaluator.evaluate([gate(.qualityScore, min: -0.05, minSamples: 30)], baseline: worse, candidate: better)[0]
        #expect(fine.result == .pass)
    }
}
