import Foundation
import NIOHTTP1
import SwitchyardClock
import SwitchyardCore
import SwitchyardSecrets
import SwitchyardSimulator
import SwitchyardTesting
import Testing
@testable import SwitchyardGateway

/// Embeddings, legacy completions and the Responses API through the same
/// routes, splits, stickiness, metrics and cost as chat — and a stored
/// response that lives on the deployment that created it.
@Suite("Every OpenAI call through the gateway, over real sockets")
struct OperationsTests {
    static func split(_ ports: [Int]) -> [Route] {
        [Route(name: "chat-prod", stable: "a", deployments: [LiveCluster.deployment("a", percent: 50, port: ports[0]), LiveCluster.deployment("b", percent: 50, port: ports[1], version: "2025-05-13")])]
    }

    @Test func embeddingsAndCompletionsAreRoutedAndCounted() async throws {
        try await LiveCluster.run(simulators: [SimulatorConfiguration(), SimulatorConfiguration(version: "2025-05-13")], routes: Self.split) { cluster in
            let embedding = try await cluster.post("/v1/embeddings", body: #"{"model":"chat-prod","input":["alpha","beta"],"dimensions":4,"encoding_format":"float"}"#)
            #expect(embedding.status == 200, "\(embedding.body)")
            #expect(embedding.json?["data"]?.arrayValue?.count == 2)
            #expect(embedding.json?["data"]?.arrayValue?.first?["embedding"]?.arrayValue?.count == 4)
            let deployment = try #require(embedding.deployment)
            let window = cluster.gateway.runtime(route: "chat-prod", deployment: deployment).aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.requests == 1 && window.promptTokens > 0 && window.completionTokens == 0, "embeddings count their input tokens")

            let completion = try await cluster.post("/v1/completions", body: #"{"model":"chat-prod","prompt":"Say hello","max_tokens":5}"#)
            #expect(completion.status == 200 && completion.json?["object"] == "text_completion", "\(completion.body)")
            let azure = try await cluster.post("/openai/deployments/chat-prod/embeddings?api-version=2024-10-21", body: #"{"input":"alpha","encoding_format":"float"}"#)
            #expect(azure.status == 200, "\(azure.body)")
            let models = try await cluster.get("/openai/models?api-version=2024-10-21")
            #expect(models.status == 200 && models.json?["data"]?.arrayValue?.first?["id"] == "chat-prod")
            #expect(try await cluster.get("/openai/models").status == 400, "Azure paths need api-version")
        }
    }

    @Test func aResponseChainStaysOnTheDeploymentThatHoldsIt() async throws {
        try await LiveCluster.run(simulators: [SimulatorConfiguration(), SimulatorConfiguration(version: "2025-05-13")], routes: Self.split) { cluster in
            var previous: String?
            var deployments: Set<String> = []
            for turn in 0..<20 {
                // No user and no sticky key: without affinity a 50/50 split would scatter the turns.
                let previousField = previous.map { #","previous_response_id":"\#($0)""# } ?? ""
                let reply = try await cluster.post("/v1/responses", body: #"{"model":"chat-prod","input":"turn \#(turn)"\#(previousField)}"#)
                #expect(reply.status == 200, "turn \(turn): \(reply.body)")
                previous = reply.json?["id"]?.stringValue
                deployments.insert(reply.deployment ?? "?")
            }
            #expect(deployments.count == 1, "every turn on one deployment: \(deployments)")
            let id = try #require(previous)
            let owner = try #require(deployments.first)
            let retrieved = try await cluster.get("/v1/responses/\(id)")
            #expect(retrieved.status == 200 && retrieved.json?["id"]?.stringValue == id && retrieved.deployment == owner)
            let items = try await cluster.get("/v1/responses/\(id)/input_items")
            #expect(items.status == 200 && items.json?["object"] == "list")
            let deleted = try await cluster.delete("/v1/responses/\(id)")
            #expect(deleted.status == 200 && deleted.json?["deleted"] == true, "\(deleted.body)")
            let unknown = try await cluster.get("/v1/responses/resp_never_seen")
            #expect(unknown.status == 404 && unknown.errorCode == "response_not_found")

            // The owner leaves the route: a follow-up says so instead of landing elsewhere.
            let first = try await cluster.post("/v1/responses", body: #"{"model":"chat-prod","input":"hello"}"#)
            let firstID = try #require(first.json?["id"]?.stringValue)
            let firstOwner = try #require(first.deployment)
            let ports = cluster.simulatorPorts
            let remaining = firstOwner == "a" ? LiveCluster.deployment("b", percent: 100, port: ports[1], version: "2025-05-13") : LiveCluster.deployment("a", percent: 100, port: ports[0])
            try cluster.gateway.install([Route(name: "chat-prod", stable: remaining.name, deployments: [remaining], revision: 2)])
            let orphan = try await cluster.post("/v1/responses", body: #"{"model":"chat-prod","input":"again","previous_response_id":"\#(firstID)"}"#)
            #expect(orphan.status == 410 && orphan.errorCode == "response_deployment_gone", "\(orphan.body)")
            #expect(orphan.errorMessage?.contains(firstOwner) == true)
        }
    }

    @Test func aStreamedResponseIsRelayedAndACutOneEndsWithAnErrorNeverCompleted() async throws {
        try await LiveCluster.run(simulators: [SimulatorConfiguration(tokensPerSecond: 500)], routes: ResilienceTests.single()) { cluster in
            let streamed = try await cluster.post("/v1/responses", body: #"{"model":"solo","input":"hi","stream":true}"#)
            #expect(streamed.status == 200)
            #expect(streamed.body.hasPrefix("event: response.created"))
            #expect(streamed.body.contains("event: response.completed"))
            let id = try #require(streamed.body.firstRange(of: "resp_sim_").map { String(streamed.body[$0.lowerBound...].prefix { $0 != "\"" }) })
            #expect(try await cluster.get("/v1/responses/\(id)").status == 200, "a streamed response is remembered too")
            let window = cluster.gateway.runtime(route: "solo", deployment: "only").aggregate(window: .seconds(60), now: SystemClock().now())
            #expect(window.completionTokens > 0, "usage is read from response.completed")

            cluster.simulators[0].configuration.errorRate = 1
            cluster.simulators[0].configuration.errorKind = .cutStream
            let cut = try await cluster.post("/v1/responses", body: #"{"model":"solo","input":"hi","stream":true}"#)
            #expect(!cut.body.contains("response.completed"))
            #expect(cut.body.hasSuffix("\n\n") && cut.body.contains("event: error\ndata: {"), "\(cut.body.suffix(300))")
        }
    }
}

extension OperationsTests {
    /// Streamed requests are most of real traffic: they are mirrored too,
    /// after the client's stream has ended, and compared on their text.
    @Test func streamedRequestsAreMirroredToTheShadowAndCompared() async throws {
        try await LiveCluster.run(simulators: [SimulatorConfiguration(tokensPerSecond: 1000), SimulatorConfiguration(version: "2025-05-13", tokensPerSecond: 1000)], routes: { ports in
            [Route(name: "chat-prod", stable: "a", deployments: [LiveCluster.deployment("a", percent: 100, port: ports[0]), LiveCluster.deployment("b", percent: 0, port: ports[1], version: "2025-05-13")])]
        }) { cluster in
            cluster.gateway.setShadow(route: "chat-prod", ShadowSettings(deployment: "b", sample: .full, budget: .init()))
            for index in 0..<4 {
                let reply = try await cluster.post(body: LiveCluster.chat(user: "u\(index)", stream: true))
                #expect(reply.status == 200 && reply.body.hasSuffix("data: [DONE]\n\n"), "the client's own stream is untouched")
            }
            _ = try await cluster.post(body: LiveCluster.chat(user: "plain"))
            var report = cluster.gateway.shadowReport(route: "chat-prod")
            for _ in 0..<500 where (report?.completed ?? 0) < 5 {
                try await Task.sleep(for: .milliseconds(20))
                report = cluster.gateway.shadowReport(route: "chat-prod")
            }
            let final = try #require(report)
            #expect(final.mirrored == 5 && final.completed == 5 && final.shadowErrors == 0, "\(final)")
            #expect(final.primaryTokens > 0 && final.shadowTokens > 0, "the streams' usage is compared too")
            #expect(final.similaritySum > 0, "the streamed text was reassembled and compared")
            #expect(cluster.simulators[1].lastRequest?["stream"] == nil, "the shadow call itself is not streamed")
        }
    }
}

extension OperationsTests {
    /// A stored response belongs to the client key that created it: upstream,
    /// the gateway's own key would reach anyone's, so the gateway checks.
    @Test func anotherClientKeyCannotReadOrContinueAResponse() async throws {
        let access = AccessConfig(clientKeys: [
            ClientKey(name: "alice-app", digest: SecretDigest.sha256("alice-key")), ClientKey(name: "bob-app", digest: SecretDigest.sha256("bob-key")),
        ])
        try await LiveCluster.run(simulators: [SimulatorConfiguration()], access: access, routes: ResilienceTests.single()) { cluster in
            let alice = [("authorization", "Bearer alice-key")]
            let bob = [("authorization", "Bearer bob-key")]
            let created = try await cluster.post("/v1/responses", body: #"{"model":"solo","input":"secret plans"}"#, headers: alice)
            let id = try #require(created.json?["id"]?.stringValue)
            #expect(try await cluster.get("/v1/responses/\(id)", headers: alice).status == 200)
            let stolen = try await cluster.get("/v1/responses/\(id)", headers: bob)
            #expect(stolen.status == 404 && stolen.errorCode == "response_not_found")
            let continued = try await cluster.post("/v1/responses", body: #"{"model":"solo","input":"and?","previous_response_id":"\#(id)"}"#, headers: bob)
            #expect(continued.status == 404 && continued.errorCode == "previous_response_not_found", "\(continued.body)")
            #expect(try await cluster.post("/v1/responses", body: #"{"model":"solo","input":"and?","previous_response_id":"\#(id)"}"#, headers: alice).status == 200)
        }
    }

    @Test func aStoredResponseCallPassesOnlyTheDocumentedQueryAndOneAPIVersion() throws {
        var deployment = LiveCluster.deployment("azure", percent: 100, port: 9)
        deployment.upstream = Upstream(kind: .azure, url: "http://127.0.0.1:9", deployment: "gpt-4o-1120", apiVersion: "2025-04-01-preview")
        let target = UpstreamTarget(deployment: deployment, environment: [:], clients: UpstreamClients(connectionsPerHost: 1))
        let request = target.storedResponseRequest(method: .GET, id: "resp_1", suffix: "/input_items", query: "limit=5&api-version=1999-01-01&evil=1&order=asc", forwarding: [])
        #expect(request.target == "/openai/responses/resp_1/input_items?api-version=2025-04-01-preview&limit=5&order=asc")
    }
}
