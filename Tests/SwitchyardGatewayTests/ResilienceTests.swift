import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardConfig
import SwitchyardCore
import SwitchyardSimulator
import Testing
@testable import SwitchyardGateway
import SwitchyardSecrets
import SwitchyardClock

@Suite("Failover, breakers, timeouts and limits over real sockets")
struct ResilienceTests {
    static let healthy = SimulatorConfiguration(version: "2024-11-20", latencyMean: .milliseconds(1))
    static func failing(_ kind: SimulatorConfiguration.ErrorKind, rate: Double = 1) -> SimulatorConfiguration {
        SimulatorConfiguration(version: "2025-05-13", latencyMean: .milliseconds(1), errorRate: rate, errorKind: kind, retryAfter: .seconds(30))
    }

    /// Nearly all traffic on `primary`; `backup` carries a sliver, which makes
    /// it a failover target (a zero-weight deployment, e.g. a rolled-back canary, is not).
    static func pair(_ timeouts: UpstreamTimeouts = UpstreamTimeouts()) -> @Sendable ([Int]) -> [Route] {
        { ports in
            [
                Route(
                    name: "chat-prod",
                    stable: "primary",
                    allowPinning: true,
                    deployments: [
                        LiveCluster.deployment("primary", percent: 99.99, port: ports[0], timeouts: timeouts),
                        LiveCluster.deployment("backup", percent: 0.01, port: ports[1], priority: 2),
                    ]
                )
            ]
        }
    }

    /// A user whose bucket `pair` gives to `primary`.
    static let primaryUser = "user-on-primary"

    @Test func thePrimaryUserIsOnThePrimary() throws {
        let plan = try RoutePlan(route: Self.pair()([1, 2])[0])
        #expect(plan.route.deployments[plan.primaryDeployment(forBucket: StickyHash.bucket(route: "chat-prod", key: Self.primaryUser))].name == "primary")
    }

    static func single(_ timeouts: UpstreamTimeouts = UpstreamTimeouts()) -> @Sendable ([Int]) -> [Route] {
        { ports in
            [Route(name: "solo", stable: "only", deployments: [LiveCluster.deployment("only", percent: 100, port: ports[0], timeouts: timeouts)])]
        }
    }

    /// Primary fails, backup answers — but a zero-weight backup gets no
    /// failover traffic, so here both carry weight and users stick to the failing one.
    static func splitPair(_ ports: [Int]) -> [Route] {
        [
            Route(
                name: "chat-prod",
                stable: "primary",
                deployments: [
                    LiveCluster.deployment("primary", percent: 50, port: ports[0]),
                    LiveCluster.deployment("backup", percent: 50, port: ports[1], version: "2025-05-13", priority: 2),
                ]
            )
        ]
    }

    @Test func a500FailsOverToAnotherDeploymentBeforeTheClientSeesAnything() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.serverError), Self.healthy], routes: Self.splitPair) { cluster in
            for index in 0..<40 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "user-\(index)"))
                #expect(reply.status == 200)
                #expect(reply.deployment == "backup")
            }
            // The failures the client never saw still count against the deployment that failed.
            let primary = cluster.gateway.runtime(route: "chat-prod", deployment: "primary")
                .aggregate(window: .seconds(300), now: SystemClock().now())
            #expect(primary.count(.upstream5xx) >= 5)
            #expect(primary.count(.success) == 0)
            // …and its breaker opened, so it stopped being tried at all.
            #expect(cluster.simulators[0].requestCount < 40)
            if case .open = cluster.gateway.runtime(route: "chat-prod", deployment: "primary").breakerState {} else {
                Issue.record("primary's breaker should be open")
            }
            let metrics = try await cluster.get("/metrics")
            #expect(metrics.body.contains(#"switchyard_upstream_requests_total{route="chat-prod",deployment="primary",outcome="upstream_5xx"}"#))
        }
    }

    @Test func aBreakerProtectsASingleDeploymentRoute() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.serverError)], routes: Self.single()) { cluster in
            var statuses: [Int] = []
            for _ in 0..<12 {
                statuses.append(try await cluster.post(body: LiveCluster.chat(route: "solo")).status)
            }
            #expect(statuses.prefix(5).allSatisfy { $0 == 502 })
            let last = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            #expect(last.status == 503)
            #expect(last.errorMessage?.contains("circuit breaker open") == true)
            #expect(last.headers.first(name: "retry-after") != nil)
            #expect(cluster.simulators[0].requestCount == 5, "once open, the breaker keeps requests off the upstream")
        }
    }

    @Test func pastTheUpstreamConnectionCapClientsGetAClear503NotASilentQueue() async throws {
        // One connection per event loop: two at most to the simulator, each
        // held for two seconds, longer than a request may wait in the queue.
        let slow = SimulatorConfiguration(latencyMean: .seconds(2))
        var options = Gateway.Options(environment: [:])
        options.connectionsPerHost = 1
        try await LiveCluster.run(simulators: [slow], options: options, routes: Self.single()) { cluster in
            let started = ContinuousClock.now
            let replies = try await withThrowingTaskGroup(of: LiveCluster.Reply.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await cluster.post(body: LiveCluster.chat(route: "solo")) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let served = replies.filter { $0.status == 200 }
            let refused = replies.filter { $0.status == 503 }
            #expect(served.count >= 1 && served.count <= 2, "\(replies.map(\.status))")
            #expect(served.count + refused.count == 8, "\(replies.map(\.status))")
            for reply in refused {
                #expect(reply.errorCode == "upstream_saturated")
                #expect(reply.errorMessage?.contains("serve --upstream-connections") == true, "\(reply.errorMessage ?? "")")
                #expect(reply.headers.first(name: "retry-after") == "1")
            }
            #expect(ContinuousClock.now - started < .seconds(4), "nobody waits out the first-token deadline")
            #expect(cluster.simulators[0].requestCount == served.count, "refused requests never reached the upstream")
            // The gateway's own limit is not the upstream's failure: the breaker stays closed.
            #expect(cluster.gateway.runtime(route: "solo", deployment: "only").breakerState == .closed)
            let after = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            #expect(after.status == 200)
        }
    }

    @Test func anUpstream429IsHonouredAndPassedOnWithRetryAfter() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.rateLimited)], routes: Self.single()) { cluster in
            let first = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            #expect(first.status == 429)
            #expect(first.headers.first(name: "retry-after") == "30")
            let second = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            #expect(second.status == 429)
            #expect(second.headers.first(name: "x-switchyard-route-revision") == "1", "a refusal the gateway makes still names the revision")
            #expect(first.headers.first(name: "x-switchyard-attempts") == "1" && second.headers.first(name: "x-switchyard-attempts") == "0")
            #expect(cluster.simulators[0].requestCount == 1, "no retry storm: the upstream is left alone until Retry-After")
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.count(.upstream429) == 1)
            #expect(window.deploymentFailures == 0)
        }
    }

    @Test func aHangingUpstreamTimesOutAndFailsOver() async throws {
        let quick = UpstreamTimeouts(connect: .seconds(2), firstToken: .milliseconds(300), idle: .seconds(2), total: .seconds(5))
        try await LiveCluster.run(simulators: [Self.failing(.timeout), Self.healthy], routes: Self.pair(quick)) { cluster in
            let started = ContinuousClock.now
            let reply = try await cluster.post(body: LiveCluster.chat(user: Self.primaryUser))
            #expect(reply.status == 200)
            #expect(reply.deployment == "backup")
            #expect(reply.headers.first(name: "x-switchyard-attempts") == "2")
            #expect(ContinuousClock.now - started < .seconds(5))
            let pinned = try await cluster.post(body: LiveCluster.chat(), headers: [("x-switchyard-deployment", "primary")])
            #expect(pinned.status == 504)
            #expect(pinned.errorCode == "upstream_timeout")
        }
    }

    @Test func aConnectFailureFailsOver() async throws {
        try await LiveCluster.run(simulators: [Self.healthy], routes: { ports in
            [
                Route(
                    name: "chat-prod",
                    stable: "gone",
                    deployments: [
                        LiveCluster.deployment("gone", percent: 100, port: 1),  // nothing listens on port 1
                        LiveCluster.deployment("alive", percent: 0, port: ports[0]),
                    ]
                )
            ]
        }) { cluster in
            // A zero-weight deployment is not a failover target (it may be a rolled-back canary)…
            let refused = try await cluster.post(body: LiveCluster.chat())
            #expect(refused.status == 502)
            #expect(refused.errorMessage?.contains("gone: cannot reach upstream") == true)
        }
        try await LiveCluster.run(simulators: [Self.healthy], routes: { ports in
            [
                Route(
                    name: "chat-prod",
                    stable: "gone",
                    deployments: [
                        LiveCluster.deployment("gone", percent: 99.99, port: 1),
                        LiveCluster.deployment("alive", percent: 0.01, port: ports[0], priority: 2),
                    ]
                )
            ]
        }) { cluster in
            // …but any deployment with traffic is.
            let reply = try await cluster.post(body: LiveCluster.chat(user: "someone"))
            #expect(reply.status == 200)
            #expect(reply.deployment == "alive")
        }
    }

    @Test func aStreamCutMidWayEndsWithAnErrorEventNeverDone() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.cutStream)], routes: Self.single()) { cluster in
            let reply = try await cluster.post(body: LiveCluster.chat(route: "solo", stream: true))
            #expect(reply.status == 200)
            #expect(reply.body.contains(#""content":"hello""#), "chunks before the cut reach the client")
            #expect(!reply.body.contains("[DONE]"))
            #expect(reply.body.contains(#""code":"stream_interrupted""#))
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.count(.cutStream) == 1)
        }
    }

    @Test func aNonStreamedReplyCutShortIsRetriedElsewhere() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.cutStream), Self.healthy], routes: Self.splitPair) { cluster in
            for index in 0..<10 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "cut-\(index)"))
                #expect(reply.status == 200)
                #expect(reply.json?["choices"] != nil)
            }
        }
    }

    @Test func aContentFilterRefusalIsPassedOnAndCounted() async throws {
        try await LiveCluster.run(simulators: [Self.failing(.contentFilter), Self.healthy], routes: Self.splitPair) { cluster in
            let reply = try await cluster.post(body: LiveCluster.chat(user: "user-1"), headers: [])
            let owner = try #require(reply.deployment)
            if owner == "primary" {
                #expect(reply.status == 400)
                #expect(reply.errorCode == "content_filter")
                let window = cluster.gateway.runtime(route: "chat-prod", deployment: "primary").aggregate(window: .seconds(60), now: SystemClock().now())
                #expect(window.count(.contentFilter) == 1)
            }
        }
    }

    @Test func clientKeysAreRequiredAndRateLimited() async throws {
        let access = AccessConfig(clientKeys: [
            ClientKey(name: "billing-app", digest: SecretDigest.sha256("key-1"), limits: .init(requestsPerMinute: 3))
        ])
        try await LiveCluster.run(simulators: [Self.healthy], access: access, routes: Self.single()) { cluster in
            let anonymous = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            #expect(anonymous.status == 401)
            let wrong = try await cluster.post(body: LiveCluster.chat(route: "solo"), headers: [("authorization", "Bearer nope")])
            #expect(wrong.status == 401)
            for _ in 0..<3 {
                let ok = try await cluster.post(body: LiveCluster.chat(route: "solo"), headers: [("authorization", "Bearer key-1")])
                #expect(ok.status == 200)
            }
            let limited = try await cluster.post(body: LiveCluster.chat(route: "solo"), headers: [("api-key", "key-1")])
            #expect(limited.status == 429)
            // 3 a minute: one request back every 20 s, less what has refilled while the three ran (a busy machine is slow).
            let retryAfter = limited.headers.first(name: "retry-after").flatMap { Int($0) } ?? 0
            #expect((10...20).contains(retryAfter), "retry-after \(retryAfter)")
            #expect(limited.errorMessage?.contains("billing-app") == true)
        }
    }

    @Test func badInputGetsA4xxWithTheOpenAIErrorShape() async throws {
        let options = Gateway.Options(maxRequestBytes: 4096, environment: [:])
        try await LiveCluster.run(simulators: [Self.healthy], options: options, routes: Self.single()) { cluster in
            let cases: [(String, String, Int, String)] = [
                ("/v1/chat/completions", "{not json", 400, "invalid_json"),
                ("/v1/chat/completions", #"{"model":"solo"}"#, 400, "missing_required_parameter"),
                ("/v1/chat/completions", LiveCluster.chat(route: "nope"), 404, "model_not_found"),
                ("/v1/chat/completions", LiveCluster.chat(route: "solo", extra: #""pad":"\#(String(repeating: "x", count: 5000))""#), 413, "request_too_large"),
                ("/openai/deployments/solo/chat/completions", #"{"messages":[{"role":"user"}]}"#, 400, "missing_api_version"),
                ("/openai/deployments/nope/chat/completions?api-version=2024-10-21", #"{"messages":[{"role":"user"}]}"#, 404, "model_not_found"),
                ("/v1/embeddings", #"{"model":"solo"}"#, 400, "missing_required_parameter"),
                ("/v1/files", "{}", 404, "unknown_path"),
            ]
            for (path, body, status, code) in cases {
                let reply = try await cluster.post(path, body: body)
                #expect(reply.status == status, "\(path) \(body.prefix(40)): \(reply.body)")
                #expect(reply.errorCode == code)
                #expect(reply.errorMessage?.isEmpty == false)
                #expect(reply.headers.first(name: "content-type") == "application/json")
            }
        }
    }

    @Test func healthReadinessAndMetricsAnswer() async throws {
        try await LiveCluster.run(simulators: [Self.healthy], routes: Self.single()) { cluster in
            #expect(try await cluster.get("/healthz").status == 200)
            let ready = try await cluster.get("/readyz")
            #expect(ready.status == 200)
            #expect(ready.json?["routes"] == 1)
            _ = try await cluster.post(body: LiveCluster.chat(route: "solo"))
            let metrics = try await cluster.get("/metrics").body
            #expect(metrics.contains(#"switchyard_route_weight_percent{route="solo",deployment="only"} 100"#))
            #expect(metrics.contains(#"switchyard_responses_total{route="solo",code="200"} 1"#))
            #expect(metrics.contains(#"switchyard_tokens_total{route="solo",deployment="only",direction="output"} 12"#))
        }
    }
}
