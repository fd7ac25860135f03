import Foundation
import SwitchyardConsole
import SwitchyardCore
import SwitchyardTUI
import Testing

/// Screens rendered into a cell buffer and compared, as text and as a style
/// mask, with files in Snapshots/. `UPDATE_GOLDEN=1` rewrites them; review the diff.
@Suite("Console snapshots")
struct ConsoleSnapshotTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    static func check(_ buffer: Buffer, _ name: String) throws {
        for (suffix, content) in [("txt", buffer.text), ("style", buffer.styleMask)] {
            let url = directory.appendingPathComponent("\(name).\(suffix)")
            if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
                try (content + "\n").write(to: url, atomically: true, encoding: .utf8)
            }
            let golden = try String(contentsOf: url, encoding: .utf8)
            #expect(content + "\n" == golden, "\(name).\(suffix) differs from its snapshot")
        }
    }

    static func metrics() throws -> RouteMetricsView {
        var points: [String] = []
        for index in 0..<30 {
            points.append(#"{"start": \#(1_795_299_700 + index * 10), "requests": \#(30 + index % 7 * 4), "failures": \#(index > 20 ? index - 18 : index % 3 == 0 ? 1 : 0), "p95Ms": \#(800 + index % 5 * 10), "ttftP95Ms": \#(200 + index % 4 * 8)}"#)
        }
        let series = points.joined(separator: ",")
        let json = """
            {"route": "chat-prod", "revision": 3, "windowSeconds": 300, "deployments": [
              {"name": "stable", "modelVersion": "gpt-4o@2024-11-20", "weight": 70, "outcomes": {"success": 1071, "upstream_5xx": 9}, "cost": 4.43,
               "requests": 1080, "errorRatePercent": 0.8, "breaker": "closed", "costPerRequest": 0.0041, "promptTokens": 21600, "completionTokens": 43200,
               "latencyMs": {"p50": 410, "p95": 820, "p99": 1200}, "timeToFirstTokenMs": {"p50": 200, "p95": 210, "p99": 300}, "series": [\(series)]},
              {"name": "canary", "modelVersion": "gpt-4o@2025-05-13", "weight": 30, "outcomes": {"success": 117, "upstream_5xx": 3}, "cost": 0.52,
               "promptTokens": 2400, "completionTokens": 4800,
               "requests": 120, "errorRatePercent": 2.4, "breaker": "half-open", "costPerRequest": 0.0043,
               "latencyMs": {"p50": 430, "p95": 870, "p99": 1300}, "timeToFirstTokenMs": {"p50": 220, "p95": 230, "p99": 320}, "series": [\(series)]}
            ]}
            """
        return try JSONDecoder().decode(RouteMetricsView.self, from: Data(json.utf8))
    }

    static func lifecycle() throws -> LifecycleListView {
        try JSONDecoder().decode(
            LifecycleListView.self,
            from: Data(
                """
                {"catalog": "shipped", "entries": [
                  {"provider": "azure", "model": "gpt-4o", "version": "2024-11-20", "deploymentType": "standard", "phase": "deprecated",
                   "retirement": "2026-12-15", "retirementNoEarlierThan": false, "secondsLeft": 1987200, "replacement": "gpt-5.1@2025-11-13",
                   "history": [], "deployments": [{"route": "chat-prod", "deployment": "stable", "weight": 90}]}
                ]}
                """.utf8
            )
        )
    }

    /// A canary at step 3/5 with its last verdicts, and an A/B experiment.
    static func rollouts() throws -> [String: RolloutView] {
        let now = ConsoleFixtures.t0.nanoseconds / 1_000_000
        let canary = """
            {"id": "chat-prod-1", "route": "chat-prod", "strategy": "canary", "state": "progressing", "reason": "step 3/5: holding for 10m",
             "actor": "alice", "stable": "stable", "candidate": "canary", "progress": "step 3/5", "step": 3, "steps": 5, "canaryPercent": 30,
             "startedAtMilliseconds": \(now - 900_000), "updatedAtMilliseconds": \(now - 30_000), "nextStepAtMilliseconds": \(now + 252_000),
             "nextEvaluationAtMilliseconds": \(now + 12_000), "endsAtMilliseconds": \(now + 6_300_000), "interval": "30s", "window": "5m",
             "onInconclusive": "wait", "onNoData": "pause", "gates": ["errorRateDelta", "p95LatencyRatio"],
             "evaluations": [{"atMilliseconds": \(now - 18_000), "step": 3, "overall": "inconclusive", "verdicts": [
               {"metric": "errorRateDelta", "result": "inconclusive", "baseline": 0.8, "candidate": 2.4, "unit": "%", "measured": 1.6,
                "interval": {"low": -2.1, "high": 5.3}, "threshold": "Δ ≤ 1 pp", "baselineSamples": 1080, "candidateSamples": 120,
                "minSamples": 200, "test": "anytime difference of proportions", "pValue": 1, "confidence": 0.95,
                "reason": "canary error rate 1.6 pp above stable (95 % anytime interval −2.1 … +5.3 pp, n = 120 canary / 1 080 stable), limit 1 pp → not decided yet: the interval still reaches past the limit"},
               {"metric": "p95LatencyRatio", "result": "pass", "baseline": 820, "candidate": 870, "unit": "ms", "measured": 1.06,
                "interval": {"low": 0.94, "high": 1.09}, "threshold": "ratio ≤ 1.1", "baselineSamples": 1080, "candidateSamples": 120,
                "minSamples": 100, "test": "anytime quantile (beta-binomial)", "confidence": 0.95,
                "reason": "canary p95 latency 1.06× stable's (95 % anytime interval 0.94 … 1.09×, n = 120 canary / 1 080 stable), limit 1.1× → pass"}]}],
             "transitions": []}
            """
        let experiment = """
            {"id": "summarize-1", "route": "summarize", "strategy": "ab", "state": "paused", "reason": "paused by bob",
             "actor": "bob", "stable": "stable", "progress": "experiment", "step": 1, "steps": 0,
             "startedAtMilliseconds": \(now - 3_600_000), "updatedAtMilliseconds": \(now - 60_000), "interval": "30s", "window": "5m",
             "onInconclusive": "wait", "onNoData": "pause", "gates": [], "evaluations": [], "transitions": []}
            """
        return [
            "chat-prod": try JSONDecoder().decode(RolloutView.self, from: Data(canary.utf8)),
            "summarize": try JSONDecoder().decode(RolloutView.self, from: Data(experiment.utf8)),
        ]
    }

    static func loaded(width: Int, height: Int, glyphs: Glyphs = .unicode) throws -> ConsoleState {
        var state = ConsoleState(apiURL: "http://127.0.0.1:8081", readOnly: false, now: ConsoleFixtures.t0, width: width, height: height, glyphs: glyphs)
        _ = state.update(.routesLoaded([ConsoleFixtures.route(canary: 30), ConsoleFixtures.route("summarize", canary: 50), ConsoleFixtures.route("contracts", canary: 0)], at: ConsoleFixtures.t0))
        _ = state.update(.metricsLoaded(route: "chat-prod", try metrics()))
        _ = state.update(.rolloutsLoaded(try rollouts()))
        _ = state.update(.lifecycleLoaded(try lifecycle()))
        _ = state.update(.auditLoaded([
            AuditEvent(id: 2, atMilliseconds: 1_795_299_950_000, actor: "alice", action: "weights", route: "chat-prod", fromRevision: 1, toRevision: 2, detail: "stable=70 canary=30"),
            AuditEvent(id: 1, atMilliseconds: 1_795_299_000_000, actor: "config", action: "create", route: "chat-prod", fromRevision: nil, toRevision: 1, detail: "from switchyard.yaml"),
        ]))
        return state
    }

    @Test(arguments: [(80, 24), (120, 40)])
    func routesScreen(_ size: (Int, Int)) throws {
        var state = try Self.loaded(width: size.0, height: size.1)
        try Self.check(state.view(), "routes-\(size.0)x\(size.1)")
    }

    @Test func routesScreenInASCII() throws {
        var state = try Self.loaded(width: 80, height: 24, glyphs: .ascii)
        try Self.check(state.view(), "routes-80x24-ascii")
    }

    @Test func aPendingSliderAndAConfirmation() throws {
        var state = try Self.loaded(width: 80, height: 24)
        _ = state.update(.key(.shiftRight))
        _ = state.update(.key(.enter))
        try Self.check(state.view(), "routes-80x24-pending")
        _ = state.update(.key(.character("P")))
        try Self.check(state.view(), "routes-80x24-confirm")
    }

    @Test func anExperimentShowsItsReport() throws {
        var state = try Self.loaded(width: 120, height: 40)
        var experiment = state.rollouts["summarize"]!
        experiment.state = .progressing
        experiment.reason = "experiment running for 1h"
        _ = state.update(.rolloutChanged(experiment))
        let t0 = ConsoleFixtures.t0
        var figures: [String: MetricsWindow.Bucket] = [:]
        for (name, failEvery, latency) in [("stable", 100, 400), ("canary", 25, 300)] {
            var window = MetricsWindow()
            for index in 0..<800 {
                window.record(.init(outcome: index % failEvery == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(latency + index % 200)), promptTokens: 30, completionTokens: 90, cost: name == "stable" ? 0.004 : 0.0004), at: t0)
            }
            figures[name] = window.aggregate(window: .seconds(60), now: t0)
        }
        let scores = ["stable": ScoreSummary((0..<40).map { 0.7 + Double($0 % 5) * 0.05 }), "canary": ScoreSummary((0..<40).map { 0.66 + Double($0 % 5) * 0.05 })]
        let plan = try RolloutPlan(json: ["strategy": "ab", "variants": ["stable", "canary"], "duration": "1h"], route: ConsoleFixtures.route("summarize", canary: 50))
        let (rollout, _) = RolloutMachine.start(id: "summarize-1", route: ConsoleFixtures.route("summarize", canary: 50), plan: plan, actor: "bob", now: t0 - .seconds(3600))
        _ = state.update(.reportLoaded(route: "summarize", ExperimentReport(rollout: rollout, variants: ["stable", "canary"], figures: figures, scores: scores, from: t0 - .seconds(3600), to: t0)))
        _ = state.update(.key(.character("G")))
        try Self.check(state.view(), "routes-120x40-experiment")
    }

    @Test func otherScreens() throws {
        var state = try Self.loaded(width: 120, height: 40)
        for (key, name) in [(Key.tab, "audit-120x40"), (.tab, "lifecycle-120x40"), (.character("?"), "help-120x40")] {
            _ = state.update(.key(key))
            try Self.check(state.view(), name)
        }
    }

    @Test func aTerminalTooSmallSaysSo() throws {
        var state = try Self.loaded(width: 60, height: 20)
        #expect(state.view().text.hasPrefix("Terminal too small: 60×20. Switchyard needs at least 80×24."))
    }
}

extension ConsoleSnapshotTests {
    static func shadowState() throws -> ConsoleState {
        var state = try loaded(width: 120, height: 40)
        var shadow = try #require(try rollouts()["chat-prod"])
        shadow.strategy = "shadow"
        _ = state.update(.rolloutChanged(shadow))
        return state
    }

    static func samples() -> ShadowSamplesView {
        func sample(_ minute: Int64, _ request: String, _ primary: String, _ shadow: String) -> ShadowSample {
            ShadowSample(
                atMilliseconds: 1_795_300_000_000 - minute * 60_000, request: request, primaryDeployment: "stable", shadowDeployment: "canary",
                comparison: ShadowComparison(
                    primaryLatency: .milliseconds(420), shadowLatency: .milliseconds(510), primaryTokens: 52, shadowTokens: 61, primaryFinishReason: "stop",
                    shadowFinishReason: "stop", primaryText: primary, shadowText: shadow
                )
            )
        }
        return ShadowSamplesView(route: "chat-prod", capture: 20, samples: [
            sample(1, "Summarise the incident for the status page.", "Between 02:10 and 02:40 UTC some requests failed. The cause was a bad deploy, now rolled back.", "Between 02:10 and 02:40 UTC about 3 % of requests failed. The cause was a faulty deploy; it was rolled back at 02:38."),
            sample(3, "Is the canary safe to promote?", "Yes: its error rate matches stable.", "Yes: its error rate matches stable."),
        ])
    }

    @Test func theCompareScreenListsPairsAndOpensOneSideBySide() throws {
        var state = try Self.shadowState()
        #expect(state.update(.key(.character("c"))) == [.watchSamples(route: "chat-prod")])
        #expect(state.screen == .compare)
        _ = state.update(.samplesLoaded(Self.samples()))
        try Self.check(state.view(), "compare-list-120x40")
        _ = state.update(.key(.enter))
        try Self.check(state.view(), "compare-pair-120x40")
        let screen = state.view()
        let changed = (0..<screen.height).flatMap { y in (0..<screen.width).map { screen[$0, y] } }.filter { $0.style.underline }
        #expect(changed.contains { $0.style.role == .good } && changed.contains { $0.style.role == .bad }, "words only one reply has are marked on each side")
        _ = state.update(.key(.escape))
        #expect(state.screen == .compare && !state.sampleOpen)
        #expect(state.update(.key(.escape)) == [.watchSamples(route: nil)])
        #expect(state.screen == .routes)
    }

    @Test func compareOnARouteWithoutAShadowSaysHowToGetOne() throws {
        var state = try Self.loaded(width: 120, height: 40)
        #expect(state.update(.key(.character("c"))).isEmpty)
        #expect(state.screen == .routes && state.flash?.text.contains("capture") == true)
    }
}
