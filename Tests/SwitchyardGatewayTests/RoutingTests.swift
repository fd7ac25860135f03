import AsyncHTTPClient
import NIOHTTP1
import SwitchyardCore
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardClock

@Suite("Weighted sticky routing over real sockets")
struct RoutingTests {
    static func twoVersions(stable: Double, canary: Double, allowPinning: Bool = true) -> @Sendable ([Int]) -> [Route] {
        { ports in
            [
                Route(
                    name: "chat-prod",
                    stable: "stable",
                    allowPinning: allowPinning,
                    deployments: [
                        LiveCluster.deployment("stable", percent: stable, port: ports[0], version: "2024-11-20"),
                        LiveCluster.deployment("canary", percent: canary, port: ports[1], version: "2025-05-13", priority: 2),
                    ]
                )
            ]
        }
    }

    static let simulators = [
        SimulatorConfiguration(version: "2024-11-20", latencyMean: .milliseconds(1)),
        SimulatorConfiguration(version: "2025-05-13", latencyMean: .milliseconds(1)),
    ]

    @Test func trafficSplitsByWeightAndEachUserStaysPut() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 80, canary: 20)) { cluster in
            var onCanary = 0
            var canaryRequests = 0
            let users = 400
            for index in 0..<users {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "user-\(index)"))
                #expect(reply.status == 200)
                if reply.deployment == "canary" {
                    onCanary += 1
                    canaryRequests += 1
                    #expect(reply.json?["model"] == "gpt-4o-2025-05-13")
                    #expect(reply.headers.first(name: "x-switchyard-model-version") == "gpt-4o@2025-05-13")
                }
                if index % 40 == 0 {
                    let again = try await cluster.post(body: LiveCluster.chat(user: "user-\(index)"))
                    #expect(again.deployment == reply.deployment, "user-\(index) moved between two requests")
                    if again.deployment == "canary" { canaryRequests += 1 }
                }
            }
            // 400 users at 20 %: expect 80, allow for the binomial spread (σ = 8).
            #expect((50...110).contains(onCanary), "\(onCanary) of \(users) users on the canary")
            #expect(cluster.simulators[1].requestCount == canaryRequests, "the canary's upstream saw exactly the canary's requests")
        }
    }

    @Test func raisingTheCanaryKeepsItsUsersAndTheNextRequestSeesTheNewRevision() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 90, canary: 10)) { cluster in
            var before: [String: String] = [:]
            for index in 0..<200 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "u\(index)"))
                #expect(reply.headers.first(name: "x-switchyard-route-revision") == "1")
                before["u\(index)"] = reply.deployment
            }
            let route = try #require(cluster.gateway.plan(route: "chat-prod")?.route)
            try cluster.gateway.install([route.withWeights(WeightTable(percentages: [("stable", 50), ("canary", 50)]))])
            var moved = 0
            for index in 0..<200 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "u\(index)"))
                #expect(reply.headers.first(name: "x-switchyard-route-revision") == "2")
                if before["u\(index)"] == "canary" {
                    #expect(reply.deployment == "canary", "u\(index) was moved off the canary when it grew")
                }
                if before["u\(index)"] != reply.deployment { moved += 1 }
            }
            #expect(moved > 40, "about 40 % of users should move to the canary at 50 %, saw \(moved)")
        }
    }

    @Test func theUserHeaderIsStickyAndTheAzureV1PathRoutesByModel() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 50, canary: 50)) { cluster in
            for index in 0..<20 {
                let headers = [("x-switchyard-user", "header-user-\(index)")]
                let first = try await cluster.post(body: LiveCluster.chat(), headers: headers)
                let second = try await cluster.post("/openai/v1/chat/completions", body: LiveCluster.chat(), headers: headers + [("api-key", "x")])
                #expect(first.status == 200 && second.status == 200)
                #expect(first.deployment == second.deployment, "header-user-\(index) moved")
            }
        }
    }

    @Test func thePinningHeaderPicksADeploymentWhenTheRouteAllowsIt() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 100, canary: 0)) { cluster in
            let pinned = try await cluster.post(body: LiveCluster.chat(), headers: [("x-switchyard-deployment", "canary")])
            #expect(pinned.status == 200)
            #expect(pinned.deployment == "canary")
            let unknown = try await cluster.post(body: LiveCluster.chat(), headers: [("x-switchyard-deployment", "ghost")])
            #expect(unknown.status == 400)
            #expect(unknown.errorMessage?.contains("stable, canary") == true)
        }
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 100, canary: 0, allowPinning: false)) { cluster in
            let refused = try await cluster.post(body: LiveCluster.chat(), headers: [("x-switchyard-deployment", "canary")])
            #expect(refused.status == 403)
            #expect(refused.errorCode == "pinning_not_allowed")
        }
    }

    @Test func aRetiredDeploymentGetsNoTrafficAndClientsSeeNoErrors() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 90, canary: 10)) { cluster in
            let noReport = LifecycleReport(catalog: LifecycleCatalog(source: "test"), routes: [], now: SystemClock().now())
            cluster.gateway.applyLifecycle(LifecycleState(retired: ["chat-prod": ["stable": "canary"]], report: noReport))
            for index in 0..<30 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "user-\(index)"))
                #expect(reply.status == 200)
                #expect(reply.deployment == "canary")
                #expect(reply.headers.first(name: "x-switchyard-attempts") == "1", "sent straight to the replacement, not failed over")
            }
            #expect(cluster.simulators[0].requestCount == 0, "nothing reached the retired version")
            let pinned = try await cluster.post(body: LiveCluster.chat(), headers: [("x-switchyard-deployment", "stable")])
            #expect(pinned.status == 410)
            #expect(pinned.errorCode == "deployment_retired")
            // Without a replacement in the route, the other deployments take the traffic.
            cluster.gateway.applyLifecycle(LifecycleState(retired: ["chat-prod": ["stable": nil]], report: noReport))
            let reply = try await cluster.post(body: LiveCluster.chat(user: "user-1"))
            #expect(reply.status == 200 && reply.deployment == "canary")
            // Everything retired: a clear 503 instead of the provider's error.
            cluster.gateway.applyLifecycle(LifecycleState(retired: ["chat-prod": ["stable": nil, "canary": nil]], report: noReport))
            let none = try await cluster.post(body: LiveCluster.chat(user: "user-1"))
            #expect(none.status == 503)
            #expect(none.errorMessage?.contains("model version retired") == true)
        }
    }

    @Test func whenTheOnlyWeightedDeploymentRetiresWithNoReplacementTheWeightZeroOnesServe() async throws {
        try await LiveCluster.run(simulators: Self.simulators, routes: Self.twoVersions(stable: 100, canary: 0)) { cluster in
            let noReport = LifecycleReport(catalog: LifecycleCatalog(source: "test"), routes: [], now: SystemClock().now())
            cluster.gateway.applyLifecycle(LifecycleState(retired: ["chat-prod": ["stable": nil]], report: noReport))
            for index in 0..<10 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "user-\(index)"))
                #expect(reply.status == 200, "a configured route keeps answering: \(reply.body)")
                #expect(reply.deployment == "canary")
            }
            #expect(cluster.simulators[0].requestCount == 0, "nothing reached the retired version")
        }
    }

    @Test func theDeploymentsPromptParamsAndKeyReachTheUpstream() async throws {
        var simulator = SimulatorConfiguration(latencyMean: .zero)
        simulator.requiredKey = "upstream-secret"
        let options = Gateway.Options(environment: ["SIM_KEY": "upstream-secret"])
        try await LiveCluster.run(simulators: [simulator, simulator], options: options, routes: { ports in
            var openai = LiveCluster.deployment("openai", percent: 100, port: ports[0])
            openai.upstream.apiKeyEnv = "SIM_KEY"
            openai.prompt = PromptVersion(version: "p7", system: "You are careful.")
            openai.params = ["temperature": 0.2, "top_p": 0.9]
            openai.enforce = ["max_tokens": 100]
            var azure = LiveCluster.deployment("azure", percent: 100, port: ports[1])
            azure.upstream = Upstream(kind: .azure, url: "http://127.0.0.1:\(ports[1])", apiKeyEnv: "SIM_KEY", deployment: "gpt-4o-1120")
            return [
                Route(name: "chat-prod", stable: "openai", deployments: [openai]),
                Route(name: "azure-route", stable: "azure", deployments: [azure]),
            ]
        }) { cluster in
            let reply = try await cluster.post(
                body: LiveCluster.chat(extra: #""temperature":1.4,"max_tokens":4000,"seed":9223372036854775807"#),
                headers: [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), ("openai-project", "proj_1"), ("x-unlisted", "no")]
            )
            #expect(reply.status == 200, "\(reply.body)")
            let sent = try #require(cluster.simulators[0].lastRequest)
            #expect(sent["model"] == "gpt-4o-2024-11-20")
            #expect(sent["temperature"] == 1.4, "a deployment's params are defaults: the client's value wins")
            #expect(sent["top_p"] == 0.9, "and fill in what the client left out")
            #expect(sent["max_tokens"] == 100, "an enforced cap is imposed")
            #expect(reply.headers.first(name: "x-switchyard-enforced") == "max_tokens")
            #expect(String(decoding: cluster.simulators[0].lastRequestBytes, as: UTF8.self).contains(#""seed":9223372036854775807"#))
            #expect(sent["messages"]?.arrayValue?.first?["content"] == "You are careful.")
            let headers = cluster.simulators[0].lastRequestHeaders
            #expect(headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" && headers["openai-project"] == "proj_1")
            #expect(headers["x-unlisted"] == nil && headers["user-agent"]?.hasPrefix("switchyard/") == true)
            #expect(reply.headers.first(name: "x-request-id")?.hasPrefix("req_sim_") == true, "the provider's request id comes back")
            #expect(reply.headers.first(name: "x-ratelimit-remaining-requests") == "9999" && reply.headers.first(name: "openai-processing-ms") == "12")
            let azure = try await cluster.post("/openai/deployments/azure-route/chat/completions?api-version=2024-10-21", body: #"{"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(azure.status == 200, "the azure upstream wants its key as api-key: \(azure.body)")
            _ = try await cluster.post("/openai/deployments/azure-route/chat/completions?api-version=2024-10-21", body: #"{"messages":[{"role":"user","content":"hi"}]}"#, headers: [("openai-project", "proj_1")])
            #expect(cluster.simulators[1].lastRequestHeaders["openai-project"] == nil, "OpenAI's project header goes to OpenAI only")
        }
    }
}
