import Foundation
import SwitchyardConfig
import SwitchyardCore
import SwitchyardCtl
import Testing
import Yams

/// ctl's tables compared with golden files. Run with `UPDATE_GOLDEN=1` to
/// rewrite them after an intended change, and review the diff.
@Suite("ctl output")
struct CtlOutputTests {
    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    static func check(_ text: String, against name: String) throws {
        let url = goldenDirectory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: url, encoding: .utf8)
        #expect(text == golden, "\(name) differs from its golden file")
    }

    static var routes: [Route] {
        var summarize = ControlFixtures.route(stable: 100, canary: 0)
        summarize.name = "summarize"
        summarize.revision = 7
        summarize.allowPinning = true
        return [ControlFixtures.route(), summarize]
    }

    @Test func routesTable() throws {
        try Self.check(CtlFormat.routes(Self.routes), against: "routes.txt")
    }

    @Test func statusWithMeasurements() throws {
        let metrics = try JSONDecoder().decode(
            RouteMetricsView.self,
            from: Data(
                """
                {"route": "chat-prod", "revision": 2, "windowSeconds": 300, "deployments": [
                  {"name": "stable", "modelVersion": "gpt-4o@2024-11-20", "weight": 90, "outcomes": {"success": 4773, "upstream_5xx": 39}, "cost": 19.7,
                   "promptTokens": 0, "completionTokens": 0, "series": [],
                   "requests": 4812, "errorRatePercent": 0.81, "breaker": "closed", "costPerRequest": 0.0041,
                   "latencyMs": {"p50": 410, "p95": 820.4, "p99": 1200}, "timeToFirstTokenMs": {"p50": 200, "p95": 210, "p99": 300}},
                  {"name": "canary", "modelVersion": "gpt-4o@2025-05-13", "weight": 10, "outcomes": {"success": 524, "upstream_5xx": 6}, "cost": 2.28,
                   "promptTokens": 0, "completionTokens": 0, "series": [],
                   "requests": 530, "errorRatePercent": 1.2, "breaker": "half-open", "costPerRequest": 0.0043,
                   "latencyMs": {"p50": 430, "p95": 870, "p99": 1300}, "timeToFirstTokenMs": null}
                ]}
                """.utf8
            )
        )
        try Self.check(CtlFormat.status(Self.routes[0], metrics: metrics), against: "status.txt")
    }

    @Test func auditTable() throws {
        let events = [
            AuditEvent(id: 3, atMilliseconds: 1_795_319_133_000, actor: "alice", action: "rollback", route: "chat-prod", fromRevision: 2, toRevision: 3, detail: "stable=100 canary=0"),
            AuditEvent(id: 1, atMilliseconds: 1_795_319_000_000, actor: "config", action: "create", route: "chat-prod", fromRevision: nil, toRevision: 1, detail: "from switchyard.yaml: stable=90 canary=10"),
        ]
        try Self.check(CtlFormat.audit(events), against: "audit.txt")
    }

    @Test func exportRoundTripsThroughTheConfigParser() throws {
        var routes = Self.routes
        routes[0].deployments[1].timeouts = UpstreamTimeouts(connect: .seconds(2), firstToken: .seconds(20), idle: .milliseconds(1500), total: .seconds(120))
        routes[0].deployments[1].upstream = Upstream(kind: .azure, url: "https://example.openai.azure.com", apiKeyEnv: "AZURE_KEY", deployment: "gpt-4o-0513", apiVersion: "2024-10-21")
        routes[0].deployments[0].params = ["temperature": 0.2, "max_tokens": 800, "stop": ["\n\n", "END"], "response_format": ["type": "json_object"], "logprobs": false]
        routes[0].deployments[0].price = Price(inputPer1k: 0.0025, outputPer1k: 0.01)
        let text = RoutesFile.render(routes)
        try Self.check(text, against: "export.yaml")
        let parsed = try RoutesFile.parse(text, file: "export.yaml")
        for (original, reread) in zip(routes, parsed) {
            var expected = original
            expected.revision = reread.revision  // revisions are not part of the file
            #expect(reread == expected)
        }
    }
}

@Suite("The OpenAPI document")
struct OpenAPIDocumentTests {
    @Test func theServedDocumentParsesAndHasTheEndpoints() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let served = try String(contentsOf: root.appendingPathComponent("Sources/SwitchyardControl/Resources/openapi.yaml"), encoding: .utf8)
        for path in ["/routes:", "/routes/{route}/weights:", "/routes/{route}/rollback:", "/events:", "/audit:"] {
            #expect(served.contains("  \(path)\n"))
        }
        // A document that does not parse breaks every client generator and fuzzer silently.
        let parsed = try #require(try Yams.load(yaml: served) as? [String: Any])
        #expect(parsed["openapi"] != nil && parsed["paths"] is [String: Any])
    }
}

@Suite("ctl rollout output")
struct CtlRolloutOutputTests {
    @Test func rolloutStatusShowsStepTimingAndVerdicts() throws {
        let route = ControlFixtures.route(stable: 100, canary: 0)
        let plan = try RolloutPlan(
            json: try JSONText.decode(Array(#"{"strategy":"canary","canary":"canary","steps":[{"setWeight":10},{"pause":"10m"},{"setWeight":50},{"pause":{}},{"setWeight":100}],"gates":[{"metric":"errorRateDelta","max":1,"minSamples":200},{"metric":"p95LatencyRatio","max":1.1,"minSamples":200}],"deadline":"2h"}"#.utf8)),
            route: route
        )
        let t0 = Moment(seconds: 1_795_000_000)
        var (rollout, _) = RolloutMachine.start(id: "chat-prod-1", route: route, plan: plan, actor: "alice", now: t0)
        var stable = MetricsWindow()
        var canary = MetricsWindow()
        for index in 0..<4000 {
            stable.record(.init(outcome: index % 125 == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(400 + index % 400))), at: t0)
            if index < 600 { canary.record(.init(outcome: index % 50 == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(420 + index % 400))), at: t0) }
        }
        var verdicts = GateEvaluator.evaluate(
            plan.gates, baseline: GateSide(figures: stable.aggregate(window: .seconds(60), now: t0)), candidate: GateSide(figures: canary.aggregate(window: .seconds(60), now: t0))
        )
        for index in verdicts.indices {
            verdicts[index].baselineName = "stable"
            verdicts[index].candidateName = "canary"
        }
        (rollout, _) = try RolloutMachine.handle(rollout, .evaluated(verdicts), now: t0 + .seconds(30))
        let text = CtlFormat.rollout(RolloutView(rollout, full: true), nowMilliseconds: (t0 + .seconds(108)).nanoseconds / 1_000_000)
        try CtlOutputTests.check(text, against: "rollout-status.txt")
    }

    @Test func abReportShowsVariantsAndVerdict() throws {
        let route = ControlFixtures.route(stable: 100, canary: 0)
        let plan = try RolloutPlan(json: try JSONText.decode(Array(#"{"strategy":"ab","variants":["stable","canary"],"duration":"1h"}"#.utf8)), route: route)
        let t0 = Moment(seconds: 1_795_000_000)
        let (rollout, _) = RolloutMachine.start(id: "chat-prod-2", route: route, plan: plan, actor: "alice", now: t0)
        var figures: [String: MetricsWindow.Bucket] = [:]
        for (name, failEvery, latency) in [("stable", 100, 400), ("canary", 20, 600)] {
            var window = MetricsWindow()
            for index in 0..<1000 {
                window.record(.init(outcome: index % failEvery == 0 ? .upstream5xx : .success, latency: .milliseconds(Int64(latency + index % 200)), promptTokens: 30, completionTokens: 90, cost: 0.004), at: t0)
            }
            figures[name] = window.aggregate(window: .seconds(60), now: t0)
        }
        let scores = ["stable": ScoreSummary((0..<40).map { 0.7 + Double($0 % 5) * 0.05 }), "canary": ScoreSummary((0..<40).map { 0.72 + Double($0 % 5) * 0.05 })]
        let report = ExperimentReport(rollout: rollout, variants: ["stable", "canary"], figures: figures, scores: scores, from: t0, to: t0 + .seconds(3600))
        try CtlOutputTests.check(CtlFormat.report(report), against: "ab-report.txt")
    }

    @Test func capturedPairsPrintAsRequestAndBothReplies() throws {
        let comparison = ShadowComparison(
            primaryLatency: .milliseconds(212), shadowLatency: .milliseconds(240), primaryTokens: 30, shadowTokens: 34, primaryFinishReason: "stop",
            shadowFinishReason: "stop", primaryText: "The canary is safe.", shadowText: "The canary is not safe yet."
        )
        let sample = ShadowSample(atMilliseconds: 1_795_319_000_000, request: "Is it safe?\nAnswer briefly.", primaryDeployment: "stable", shadowDeployment: "next", comparison: comparison)
        try CtlOutputTests.check(CtlFormat.samples(ShadowSamplesView(route: "chat-prod", capture: 20, samples: [sample])), against: "shadow-samples.txt")
        #expect(CtlFormat.samples(ShadowSamplesView(route: "chat-prod", capture: 0, samples: [])).contains("capture"))
    }
}
