import Foundation
import Testing
@testable import SwitchyardCore

@Suite("The rollout machine turns events and time into actions")
struct RolloutMachineTests {
    let route = Fixtures.route(weights: [("stable", 100), ("canary", 0)])
    let t0 = Moment(seconds: 1_800_000_000)

    func plan(_ text: String) throws -> RolloutPlan {
        try RolloutPlan(json: try JSONText.decode(Array(text.utf8)), route: route)
    }

    func pass() -> GateVerdict { Self.passing }

    static let passing: GateVerdict = {
        GateEvaluator.evaluate(
            [RolloutPlan.Gate(metric: .errorRateDelta, max: 1, min: nil, minSamples: 10, confidence: 0.95, countAsFailure: true)],
            baseline: GateEvaluatorTests.side(requests: 20_000), candidate: GateEvaluatorTests.side(requests: 20_000)
        )[0]
    }()

    func fail() -> GateVerdict {
        GateEvaluator.evaluate(
            [RolloutPlan.Gate(metric: .errorRateDelta, max: 1, min: nil, minSamples: 10, confidence: 0.95, countAsFailure: true)],
            baseline: GateEvaluatorTests.side(requests: 1000, failures: 10), candidate: GateEvaluatorTests.side(requests: 1000, failures: 50)
        )[0]
    }

    func inconclusive() -> GateVerdict {
        var verdict = pass()
        verdict.result = .inconclusive
        return verdict
    }

    static func canaryWeights(_ actions: [RolloutAction]) -> [Double] {
        actions.compactMap { if case .setWeights(let table) = $0 { table["canary"]?.percent } else { nil } }
    }

    @Test func aHealthyCanaryIsPromotedThroughEveryStep() throws {
        let plan = try plan(
            #"{"strategy":"canary","canary":"canary","steps":[{"setWeight":5},{"pause":"10m"},{"setWeight":25},{"analysis":{"interval":"1m","window":"5m","runs":2}},{"setWeight":50},{"pause":"20m"},{"setWeight":100}],"gates":[{"metric":"errorRateDelta","max":1}],"interval":"30s"}"#
        )
        var (rollout, actions) = RolloutMachine.start(id: "r1", route: route, plan: plan, actor: "alice", now: t0)
        var weights = Self.canaryWeights(actions)
        #expect(weights == [5])
        #expect(rollout.nextStepAt == t0 + .seconds(600))
        var now = t0
        var promoted = false
        while now < t0 + .seconds(7200), rollout.state.isActive {
            now = now + .seconds(10)
            (rollout, actions) = try RolloutMachine.handle(rollout, .tick, now: now)
            var pending = actions
            while let action = pending.first {
                pending.removeFirst()
                switch action {
                case .evaluate:
                    let (next, more) = try RolloutMachine.handle(rollout, .evaluated([pass()]), now: now)
                    rollout = next
                    pending += more
                    actions += more
                case .promote(let deployment, _):
                    #expect(deployment == "canary")
                    promoted = true
                default: break
                }
            }
            weights += Self.canaryWeights(actions)
        }
        #expect(weights == [5, 25, 50, 100])
        #expect(promoted)
        #expect(rollout.state == .promoted)
        // 10 min + 2 analysis runs of 1 min + 20 min, on a 10 s tick.
        #expect(rollout.updatedAt <= t0 + .seconds(600 + 120 + 1200 + 30))
        #expect(rollout.transitions.map(\.action).contains("rollout.analysis"))
    }

    @Test func aFailingGateRollsBackWithTheReasonRecorded() throws {
        let plan = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":50},{"pause":"10m"}],"gates":[{"metric":"errorRateDelta","max":1}],"interval":"30s"}"#)
        var (rollout, actions) = RolloutMachine.start(id: "r1", route: route, plan: plan, actor: "alice", now: t0)
        (rollout, actions) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(30))
        #expect(actions == [.evaluate])
        (rollout, actions) = try RolloutMachine.handle(rollout, .evaluated([fail()]), now: t0 + .seconds(31))
        #expect(rollout.state == .rolledBack)
        #expect(rollout.reason.hasPrefix("gate errorRateDelta failed: canary error rate 4 pp above stable (95 % anytime interval +1.32 … +6.68 pp"), "\(rollout.reason)")
        guard case .rollback(let reason) = actions.first else { Issue.record("expected a rollback, got \(actions)"); return }
        #expect(reason == rollout.reason)
        #expect(rollout.evaluations.last?.verdicts.first?.candidate == 5)
        #expect(throws: RolloutError.self) { try RolloutMachine.handle(rollout, .resume(actor: "bob"), now: t0 + .seconds(40)) }
    }

    @Test func anIndefinitePauseWaitsForResumeAndPausedTimeDoesNotCount() throws {
        let plan = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":{}},{"setWeight":30},{"pause":"5m"},{"setWeight":100}]}"#)
        var (rollout, _) = RolloutMachine.start(id: "r1", route: route, plan: plan, actor: "alice", now: t0)
        #expect(rollout.state == .paused)
        (rollout, _) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(3600))
        #expect(rollout.state == .paused)
        var actions: [RolloutAction]
        (rollout, actions) = try RolloutMachine.handle(rollout, .resume(actor: "bob"), now: t0 + .seconds(3600))
        #expect(Self.canaryWeights(actions) == [30])
        (rollout, _) = try RolloutMachine.handle(rollout, .pause(actor: "bob"), now: t0 + .seconds(3660))
        (rollout, _) = try RolloutMachine.handle(rollout, .resume(actor: "bob"), now: t0 + .seconds(3960))
        #expect(rollout.nextStepAt == t0 + .seconds(3600 + 300 + 300))
        (rollout, actions) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(4199))
        #expect(actions.isEmpty)
        (rollout, actions) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(4200))
        #expect(Self.canaryWeights(actions) == [100])
        #expect(rollout.state == .promoted)
    }

    @Test func inconclusivePoliciesWaitPauseOrAbortAfterN() throws {
        let wait = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1m"},{"setWeight":100}],"gates":[{"metric":"errorRateDelta"}],"onInconclusive":"wait"}"#)
        var (rollout, _) = RolloutMachine.start(id: "r", route: route, plan: wait, actor: "a", now: t0)
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated([inconclusive()]), now: t0 + .seconds(30))
        (rollout, _) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(120))
        #expect(rollout.state == .progressing)
        #expect(rollout.stepIndex == 1, "a timed step does not end while the gates are inconclusive")
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated([pass()]), now: t0 + .seconds(150))
        (rollout, _) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(151))
        #expect(rollout.state == .promoted)

        let pause = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1m"}],"gates":[{"metric":"errorRateDelta"}],"onInconclusive":"pause"}"#)
        (rollout, _) = RolloutMachine.start(id: "r", route: route, plan: pause, actor: "a", now: t0)
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated([inconclusive()]), now: t0 + .seconds(30))
        #expect(rollout.state == .paused)
        #expect(rollout.reason.contains("paused for a human"))

        let abort = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1h"}],"gates":[{"metric":"errorRateDelta"}],"onInconclusive":"abort","maxInconclusive":3}"#)
        (rollout, _) = RolloutMachine.start(id: "r", route: route, plan: abort, actor: "a", now: t0)
        var actions: [RolloutAction] = []
        for round in 1...3 {
            (rollout, actions) = try RolloutMachine.handle(rollout, .evaluated([inconclusive()]), now: t0 + .seconds(Int64(30 * round)))
        }
        #expect(rollout.state == .aborted)
        #expect(rollout.reason.contains("3 times in a row"))
        #expect(actions.contains { if case .rollback = $0 { true } else { false } })
    }

    @Test func noDataPolicyAndDeadline() throws {
        var noData = pass()
        noData.result = .noData
        let plan = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1h"}],"gates":[{"metric":"errorRateDelta"}],"onNoData":"pause","deadline":"30m"}"#)
        var (rollout, actions) = RolloutMachine.start(id: "r", route: route, plan: plan, actor: "a", now: t0)
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated([noData]), now: t0 + .seconds(30))
        #expect(rollout.state == .paused)
        (rollout, actions) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(1800))
        #expect(rollout.state == .aborted)
        #expect(rollout.reason == "the deadline of 30m passed at step 2/2; aborted")
        #expect(actions.contains(.rollback(reason: rollout.reason)))
    }

    @Test func aManualWeightChangePausesTheRollout() throws {
        let plan = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1h"}]}"#)
        var (rollout, _) = RolloutMachine.start(id: "r", route: route, plan: plan, actor: "a", now: t0)
        (rollout, _) = try RolloutMachine.handle(rollout, .overridden(actor: "bob", detail: "stable=70% canary=30%"), now: t0 + .seconds(5))
        #expect(rollout.state == .paused)
        #expect(rollout.reason.contains("bob changed the weights by hand"))
    }

    @Test func blueGreenNeverRoutesToAFailedSlotAndCanSwitchBack() throws {
        let plan = try plan(#"{"strategy":"bluegreen","target":"canary","keepPrevious":"10m"}"#)
        var (rollout, actions) = RolloutMachine.start(id: "b", route: route, plan: plan, actor: "a", now: t0)
        #expect(actions.contains(.healthCheck(deployment: "canary", RolloutPlan.HealthCheck())))
        let failed = try RolloutMachine.handle(rollout, .healthChecked(passed: false, detail: "2 of 3 failed"), now: t0 + .seconds(2))
        #expect(failed.0.state == .aborted)
        #expect(!failed.1.contains { if case .setWeights = $0 { true } else if case .promote = $0 { true } else { false } })

        (rollout, actions) = try RolloutMachine.handle(rollout, .healthChecked(passed: true, detail: "3 of 3 ok"), now: t0 + .seconds(2))
        #expect(actions.first == .promote(deployment: "canary", reason: "health check passed: 3 of 3 ok"))
        let back = try RolloutMachine.handle(rollout, .rollback(actor: "bob"), now: t0 + .seconds(60))
        #expect(back.0.state == .rolledBack)
        #expect(back.1.first == .promote(deployment: "stable", reason: "rolled back by bob"))
        (rollout, _) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(602))
        #expect(rollout.state == .promoted)
    }

    @Test func abAndShadowRunForTheirDuration() throws {
        let ab = try plan(#"{"strategy":"ab","variants":["stable","canary"],"split":{"stable":70,"canary":30},"duration":"1h"}"#)
        var (rollout, actions) = RolloutMachine.start(id: "ab", route: route, plan: ab, actor: "a", now: t0)
        #expect(Self.canaryWeights(actions) == [30])
        (rollout, _) = try RolloutMachine.handle(rollout, .tick, now: t0 + .seconds(3600))
        #expect(rollout.state == .completed)

        let shadow = try plan(#"{"strategy":"shadow","shadow":"canary","sample":20,"budget":{"tokens":1000},"duration":"10m"}"#)
        (rollout, actions) = RolloutMachine.start(id: "s", route: route, plan: shadow, actor: "a", now: t0)
        #expect(actions.contains(.startShadow(deployment: "canary", sample: try Weight(percent: 20), budget: .init(tokens: 1000))))
        #expect(throws: RolloutError.self) { try RolloutMachine.handle(rollout, .promote(actor: "a", deployment: nil), now: t0) }
        (rollout, actions) = try RolloutMachine.handle(rollout, .abort(actor: "a", reason: ""), now: t0 + .seconds(5))
        #expect(actions.first == .stopShadow)
        #expect(rollout.state == .aborted)
    }

    @Test func aRolloutSurvivesEncodingUnchanged() throws {
        let plan = try plan(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"analysis":{"runs":2}},{"pause":{}}],"gates":[{"metric":"p95LatencyRatio","max":1.1}]}"#)
        var (rollout, _) = RolloutMachine.start(id: "r", route: route, plan: plan, actor: "a", now: t0)
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated([pass()]), now: t0 + .seconds(60))
        let data = try JSONEncoder().encode(rollout)
        #expect(try JSONDecoder().decode(Rollout.self, from: data) == rollout)
    }
}
