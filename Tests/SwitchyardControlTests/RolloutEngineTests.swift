import Foundation
import SwitchyardControl
import SwitchyardCore
import SwitchyardGateway
import SwitchyardSimulator
import SwitchyardStore
import SwitchyardTesting
import Testing

/// The rollout engine end to end: real simulators behind a real gateway, the
/// control plane and its SQLite store, and a clock the test moves forward.
@Suite("Rollout engine end to end", .serialized)
struct RolloutEngineTests {
    static func simulator(errorRate: Double = 0, kind: SimulatorConfiguration.ErrorKind = .serverError, version: String = "2024-11-20", latency: Duration = .milliseconds(1)) -> SimulatorConfiguration {
        var configuration = SimulatorConfiguration(version: version, latencyMean: latency, errorRate: errorRate, errorKind: kind, retryAfter: .milliseconds(1))
        configuration.replyTokens = 8
        return configuration
    }

    @Test func aCanaryFailingFiveTimesAsOftenIsRolledBackWithinTwoIntervals() async throws {
        try await RolloutCluster.run([("stable", Self.simulator(errorRate: 0.02)), ("canary", Self.simulator(errorRate: 0.10, version: "2025-05-13"))]) { cluster in
            try await cluster.start(
                #"{"strategy":"canary","canary":"canary","steps":[{"setWeight":50},{"pause":"10m"},{"setWeight":100}],"gates":[{"metric":"errorRateDelta","max":1,"minSamples":200}],"interval":"30s","window":"5m"}"#
            )
            #expect(await cluster.weights == ["stable": 50, "canary": 50])
            let replies = try await cluster.traffic(1200)
            // Failover hides the canary's failures; a client sees an error only when its failover attempt fails too.
            #expect(replies.filter { $0.status != 200 }.count <= 12)
            var intervals = 0
            while intervals < 2, await cluster.rollout?.state != .rolledBack {
                await cluster.advance(.seconds(30))
                intervals += 1
            }
            let rollout = try #require(await cluster.rollout)
            #expect(rollout.state == .rolledBack, "\(rollout.reason)")
            #expect(rollout.reason.hasPrefix("gate errorRateDelta failed on canary: canary error rate"), "\(rollout.reason)")
            #expect(await cluster.weights == ["stable": 100, "canary": 0])
            let verdict = try #require(rollout.lastVerdicts.first)
            #expect(verdict.result == .fail)
            #expect(verdict.candidateSamples >= 200 && verdict.baselineSamples >= 200)
            #expect(abs((verdict.candidate ?? 0) - 10) < 3, "measured \(verdict.candidate ?? -1) %")
            #expect((verdict.interval?.low ?? 0) > 1, "the anytime interval lies past the limit: \(verdict.reason)")
            #expect((verdict.pValue ?? 1) < 0.05)
            let audit = try await cluster.control.auditEvents(route: "chat-prod", limit: 20, beforeID: nil)
            #expect(audit.contains { $0.action == "rollout.gate" && $0.detail == rollout.reason })
            #expect(audit.contains { $0.action == "rollback" && $0.actor == ControlPlane.rolloutActor })
            let history = try await cluster.control.evaluationHistory("chat-prod", limit: 10, beforeID: nil)
            #expect(history.evaluations.first?.1.overall == .fail, "every evaluation is kept in the store")
            #expect(history.evaluations.count == rollout.evaluations.count)
        }
    }

    @Test func aHealthyCanaryIsPromotedThroughEveryStep() async throws {
        // The latency gate compares real measured times. At 1 ms a busy machine's scheduling
        // noise alone can make one side's p95 three times the other's; at 20 ms it cannot.
        let latency = Duration.milliseconds(20)
        try await RolloutCluster.run([("stable", Self.simulator(latency: latency)), ("canary", Self.simulator(version: "2025-05-13", latency: latency))]) { cluster in
            try await cluster.start(
                #"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"1m"},{"setWeight":50},{"analysis":{"interval":"20s","window":"5m","runs":2}},{"setWeight":100}],"gates":[{"metric":"errorRateDelta","max":5,"minSamples":30},{"metric":"p95LatencyRatio","max":3,"minSamples":30}],"interval":"20s"}"#
            )
            var seen: [Double] = []
            // A timed step waits, with onInconclusive "wait", until the gates can
            // say the canary is within its limits: at 10 % that takes a few hundred requests.
            for round in 0..<60 {
                if let canary = await cluster.weights["canary"], seen.last != canary { seen.append(canary) }
                guard await cluster.rollout?.state.isActive == true else { break }
                try await cluster.traffic(150, prefix: "r\(round)-")
                await cluster.advance(.seconds(10))
            }
            let rollout = try #require(await cluster.rollout)
            #expect(rollout.state == .promoted, "\(rollout.reason)")
            #expect(seen == [10, 50, 100], "the canary's weights step by step")
            let route = try #require(await cluster.control.plan("chat-prod")?.route)
            #expect(route.stable == "canary")
            #expect(await cluster.weights == ["stable": 0, "canary": 100])
            #expect(rollout.transitions.map(\.action).filter { $0 == "rollout.step" }.count >= 4)
            #expect(rollout.evaluations.allSatisfy { $0.overall != .fail })
        }
    }

    @Test func aRateLimitStormOnTheCanaryIsNotAModelFailure() async throws {
        try await RolloutCluster.run([("stable", Self.simulator()), ("canary", Self.simulator(errorRate: 0.6, kind: .rateLimited, version: "2025-05-13"))]) { cluster in
            try await cluster.start(
                #"{"strategy":"canary","canary":"canary","steps":[{"setWeight":50},{"pause":"1h"}],"gates":[{"metric":"errorRateDelta","max":1,"minSamples":20},{"metric":"rate429","countAsFailure":false}],"interval":"30s"}"#
            )
            let replies = try await cluster.traffic(400)
            #expect(replies.allSatisfy { $0.status == 200 })
            await cluster.advance(.seconds(30))
            let rollout = try #require(await cluster.rollout)
            #expect(rollout.state == .progressing, "\(rollout.reason)")
            let verdicts = rollout.lastVerdicts
            #expect(verdicts.count == 2)
            // 80-odd answered canary requests cannot prove a 1 pp margin yet, but nothing fails:
            // the 429s are kept out of the error rate's sample.
            let errors = try #require(verdicts.first { $0.metric == .errorRateDelta })
            #expect(errors.result == .inconclusive, "\(errors.reason)")
            #expect(errors.candidateSamples < 150 && errors.interval?.low ?? 1 < 0, "\(errors.reason)")
            let throttled = try #require(verdicts.first { $0.metric == .rate429 })
            #expect((throttled.candidate ?? 0) > 30, "the storm is reported: \(throttled.candidate ?? -1) %")
            #expect(throttled.result == .pass)
        }
    }

    @Test func aShadowThatHangsNeverDelaysAClientReply() async throws {
        var hanging = Self.simulator(errorRate: 1, kind: .timeout, version: "2025-05-13")
        hanging.latencyMean = .milliseconds(1)
        try await RolloutCluster.run(
            [("stable", Self.simulator()), ("shadow", hanging)],
            timeouts: UpstreamTimeouts(connect: .seconds(2), firstToken: .seconds(20), idle: .seconds(20), total: .seconds(20))
        ) { cluster in
            let before = try await cluster.traffic(100, prefix: "warm")
            try await cluster.start(#"{"strategy":"shadow","shadow":"shadow","sample":100}"#)
            let during = try await cluster.traffic(400, prefix: "s")
            #expect(during.allSatisfy { $0.status == 200 })
            let slowest = during.map(\.latency).max()!
            let slowestBefore = before.map(\.latency).max()!
            #expect(slowest < .seconds(1), "a client waited \(slowest) while the shadow hangs for 20 s (before: \(slowestBefore))")
            let report = try #require(cluster.gateway.shadowReport(route: "chat-prod"))
            #expect(report.mirrored > 0)
            #expect(report.droppedQueueFull > 0, "a bounded queue drops what it cannot hold")
            #expect(report.mirrored + report.droppedQueueFull == 400)
            #expect(report.compared == 0)
            let shadowFigures = cluster.gateway.aggregate(route: "chat-prod", deployment: "shadow", window: .seconds(300), now: cluster.clock.now())
            #expect(shadowFigures.requests == 0, "shadow traffic stays out of the route's metrics")
            let stopped = try await cluster.control.operate("chat-prod", .abort(actor: "alice", reason: ""), actor: "alice", action: "abort")
            #expect(stopped.state == .aborted)
        }
    }

    @Test func aShadowThatAnswersIsComparedRequestByRequest() async throws {
        // The same model version behind both: the shadow should answer word for word.
        try await RolloutCluster.run([("stable", Self.simulator()), ("shadow", Self.simulator())]) { cluster in
            try await cluster.start(#"{"strategy":"shadow","shadow":"shadow","sample":50,"budget":{"tokens":1000000}}"#)
            try await cluster.traffic(100)
            var report = cluster.gateway.shadowReport(route: "chat-prod")
            for _ in 0..<100 where (report?.completed ?? 0) < 50 {
                try await Task.sleep(for: .milliseconds(20))
                report = cluster.gateway.shadowReport(route: "chat-prod")
            }
            #expect(report?.mirrored == 50, "half of the requests are mirrored")
            #expect(report?.compared == 50)
            #expect(report?.exactMatches == 50, "the simulators answer the same text")
            let summary = try await cluster.control.experimentReport("chat-prod")
            #expect(summary.shadow?.exactMatchPercent == 100)
            #expect(summary.shadow?.similarity?.mean == 1)
            #expect(summary.variants.map(\.role) == ["control", "shadow"])
        }
    }

    @Test func aSpentShadowBudgetDropsShadowWorkAndCountsIt() async throws {
        try await RolloutCluster.run([("stable", Self.simulator()), ("shadow", Self.simulator())]) { cluster in
            try await cluster.start(#"{"strategy":"shadow","shadow":"shadow","sample":100,"budget":{"tokens":100}}"#)
            // One at a time, so each shadow reply is counted before the next request.
            for index in 0..<40 {
                try await cluster.traffic(1, prefix: "b\(index)-", concurrency: 1)
                for _ in 0..<50 where (cluster.gateway.shadowReport(route: "chat-prod")?.completed ?? 0) + (cluster.gateway.shadowReport(route: "chat-prod")?.droppedBudget ?? 0) <= index {
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            let report = try #require(cluster.gateway.shadowReport(route: "chat-prod"))
            #expect(report.droppedBudget > 0)
            #expect(report.shadowTokens >= 100 && report.shadowTokens < 160, "spending stops once the budget is spent: \(report.shadowTokens)")
            #expect(report.mirrored + report.droppedBudget == 40)
        }
    }

    @Test func blueGreenNeverSendsTrafficToASlotThatFailedItsCheck() async throws {
        try await RolloutCluster.run([("blue", Self.simulator()), ("green", Self.simulator(errorRate: 1, version: "2025-05-13"))]) { cluster in
            try await cluster.start(#"{"strategy":"bluegreen","target":"green","healthCheck":{"requests":3}}"#)
            var rollout = try #require(await cluster.rollout)
            for _ in 0..<200 where rollout.state.isActive {
                try await Task.sleep(for: .milliseconds(10))
                rollout = try #require(await cluster.rollout)
            }
            #expect(rollout.state == .aborted)
            #expect(rollout.reason.contains("failed its health check"))
            let checked = cluster.simulators["green"]!.requestCount
            #expect(checked == 1, "the first failed check request ends the check")
            try await cluster.traffic(200)
            #expect(cluster.simulators["green"]!.requestCount == checked, "no client request reached the failed slot")
            #expect(await cluster.weights == ["blue": 100, "green": 0])

            cluster.simulators["green"]!.configuration.errorRate = 0
            try await cluster.start(#"{"strategy":"bluegreen","target":"green","healthCheck":{"requests":3},"keepPrevious":"10m"}"#)
            rollout = try #require(await cluster.rollout)
            for _ in 0..<200 {
                let switched = await cluster.control.plan("chat-prod")?.route.stable == "green"
                if rollout.switchedAt != nil, switched { break }
                try await Task.sleep(for: .milliseconds(10))
                rollout = try #require(await cluster.rollout)
            }
            #expect(rollout.switchedAt != nil, "\(rollout.reason)")
            #expect(await cluster.control.plan("chat-prod")?.route.stable == "green")
            #expect(await cluster.weights == ["blue": 0, "green": 100])
            // Within the hold, a rollback switches straight back to the previous slot.
            _ = try await cluster.control.change("chat-prod", .rollback, ifMatch: nil, actor: "bob")
            #expect(await cluster.control.plan("chat-prod")?.route.stable == "blue")
            #expect(await cluster.weights == ["blue": 100, "green": 0])
            #expect(await cluster.rollout?.state == .rolledBack)
        }
    }

    @Test func aRestartMidRolloutResumesAtTheSameStep() async throws {
        try await RolloutCluster.run([("stable", Self.simulator()), ("canary", Self.simulator(version: "2025-05-13"))]) { cluster in
            try await cluster.start(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":20},{"pause":"10m"},{"setWeight":60},{"pause":"10m"},{"setWeight":100}]}"#)
            await cluster.advance(.seconds(300))
            #expect(await cluster.rollout?.stepIndex == 1)
            // A second control plane on the same file: what a restarted process sees.
            let restarted = ControlPlane(store: try SQLiteStateStore(path: cluster.storePath), clock: cluster.clock, logger: RolloutCluster.logger) { cluster.gateway.install(plans: $0) }
            await restarted.attach(dataPlane: cluster.gateway)
            try await restarted.start(config: nil)
            let resumed = try #require(await restarted.rollout("chat-prod"))
            #expect(resumed.state == .progressing)
            #expect(resumed.progressLabel == "step 2/5")
            #expect(resumed.canaryWeight?.percent == 20)
            cluster.clock.advance(.seconds(299))
            await restarted.tickRollouts()
            #expect(await restarted.plan("chat-prod")?.route.deployment(named: "canary")?.weight.percent == 20, "the step keeps its remaining time")
            cluster.clock.advance(.seconds(2))
            await restarted.tickRollouts()
            #expect(await restarted.plan("chat-prod")?.route.deployment(named: "canary")?.weight.percent == 60)
            #expect(await restarted.rollout("chat-prod")?.progressLabel == "step 4/5")
        }
    }
}
