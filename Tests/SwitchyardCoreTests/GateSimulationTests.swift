import SwitchyardCore
import SwitchyardGateLab
import Testing

/// The issue's own measurement, replayed deterministically: identical canary
/// and stable (5 % errors each), a gate `errorRateDelta max 0` looking every
/// second. The old fixed-horizon test rolled back about 30 % of such canaries
/// within two minutes; the anytime gates may roll back at most 5 %.
@Suite("Simulated rollouts: healthy canaries are not rolled back by chance")
struct GateSimulationTests {
    static let identical = GateSimulation.Scenario(
        name: "A/A", stable: .init(errorRate: 0.05), canary: .init(errorRate: 0.05),
        gates: #"[{"metric":"errorRateDelta","max":0,"minSamples":200,"confidence":0.95}]"#, horizonSeconds: 120
    )

    @Test func identicalCanariesAreRarelyRolledBackAndTheOldGatesWereNot() throws {
        let runs = 150
        var anytime = 0
        var fixed = 0
        for seed in 0..<UInt64(runs) {
            if try GateSimulation.run(Self.identical, evaluator: .anytime, seed: seed).rolledBackAfter != nil { anytime += 1 }
            if try GateSimulation.run(Self.identical, evaluator: .fixedHorizon, seed: seed).rolledBackAfter != nil { fixed += 1 }
        }
        #expect(anytime <= runs * 5 / 100, "anytime gates rolled back \(anytime) of \(runs) identical canaries")
        #expect(fixed >= runs * 15 / 100, "the repeated fixed-horizon test should show its peeking problem: \(fixed) of \(runs)")
    }

    @Test func aCanaryFailingFiveTimesAsOftenIsStillCaught() throws {
        var bad = Self.identical
        bad.stable = .init(errorRate: 0.02)
        bad.canary = .init(errorRate: 0.10)
        bad.gates = #"[{"metric":"errorRateDelta","max":1,"minSamples":100,"confidence":0.95}]"#
        bad.horizonSeconds = 300
        for seed in 0..<UInt64(20) {
            let outcome = try GateSimulation.run(bad, evaluator: .anytime, seed: seed)
            #expect(outcome.rolledBackAfter != nil, "seed \(seed): a 5× error rate must be rolled back within 5 minutes at 20 requests/s")
        }
    }

    @Test func theSameSeedReplaysTheSameRollout() throws {
        let first = try GateSimulation.run(Self.identical, evaluator: .fixedHorizon, seed: 7)
        let second = try GateSimulation.run(Self.identical, evaluator: .fixedHorizon, seed: 7)
        #expect(first.rolledBackAfter == second.rolledBackAfter)
        #expect(first.canaryRequests == second.canaryRequests)
    }
}
