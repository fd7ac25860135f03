import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SwitchyardClient
import SwitchyardCore
import SwitchyardSecrets
import SwitchyardSimulator
import SwitchyardTesting
import Testing

/// A shadow plan with `capture` keeps the newest pairs of replies, served to
/// operators (they hold user content) and not to viewers.
@Suite("Captured shadow pairs, end to end")
struct ShadowSamplesTests {
    @Test func aShadowWithCaptureKeepsTheNewestPairsForOperatorsOnly() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var ports: [Int] = []
            for version in ["2024-11-20", "2025-05-13"] {
                let simulator = Simulator(configuration: SimulatorConfiguration(version: version, latencyMean: .milliseconds(1)))
                ports.append(try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: TestServer.quiet, onServerRunning: $0) })
            }
            let route = Route(name: "chat-prod", stable: "stable", deployments: [
                Deployment(name: "stable", weight: TestRoutes.percent(100), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[0])/v1")),
                Deployment(name: "next", weight: TestRoutes.percent(0), model: "gpt-4o", version: "2025-05-13", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[1])/v1")),
            ])
            let access = AccessConfig(tokens: [TokenEntry(name: "vera", role: .viewer, digest: SecretDigest.sha256("viewer-secret"))])
            try await TestServer.run(routes: [route], access: access) { server in
                let client = server.client()
                let plan: JSONValue = ["strategy": "shadow", "shadow": "next", "sample": 100, "capture": 3, "duration": "1h"]
                _ = try await client.startRollout(route: "chat-prod", plan: plan)
                for index in 0..<5 {
                    var request = HTTPClientRequest(url: server.gatewayURL + "/v1/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"chat-prod","stream":\#(index % 2 == 0),"messages":[{"role":"user","content":"question \#(index)"}]}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    // Shadows run side by side and are kept as they finish:
                    // one at a time, so which are the newest is not left to a busy machine.
                    for _ in 0..<500 {
                        let newest = try await client.samples(route: "chat-prod").body.samples.first?.request
                        if newest == "question \(index)" { break }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                let samples = try await client.samples(route: "chat-prod").body.samples
                #expect(samples.map(\.request) == ["question 4", "question 3", "question 2"], "the newest three, newest first")
                let first = try #require(samples.first)
                #expect(first.primaryDeployment == "stable" && first.shadowDeployment == "next")
                #expect(first.primaryText.contains("gpt-4o-2024-11-20") && first.shadowText.contains("gpt-4o-2025-05-13"))
                #expect(first.similarity > 0 && first.similarity < 1)
                do throws(ManagementClientError) {
                    _ = try await server.client(token: "viewer-secret").samples(route: "chat-prod")
                    Issue.record("a viewer read captured replies")
                } catch {
                    guard case .refused(let status, _) = error else { Issue.record("\(error)"); return }
                    #expect(status == 403)
                }
            }
            group.cancelAll()
        }
    }
}

extension ShadowSamplesTests {
    /// An A/B experiment with `capture` pairs a sampled request answered by
    /// one variant with the other variant's answer to the same request.
    @Test func anExperimentWithCapturePairsBothVariantsReplies() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var ports: [Int] = []
            for version in ["2024-11-20", "2025-05-13"] {
                let simulator = Simulator(configuration: SimulatorConfiguration(version: version, latencyMean: .milliseconds(1)))
                ports.append(try await startListening(in: &group) { simulator.buildApplication(host: "127.0.0.1", port: 0, logger: TestServer.quiet, onServerRunning: $0) })
            }
            let route = Route(name: "summarize", stable: "a", deployments: [
                Deployment(name: "a", weight: TestRoutes.percent(100), model: "gpt-4o", version: "2024-11-20", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[0])/v1")),
                Deployment(name: "b", weight: TestRoutes.percent(0), model: "gpt-4o", version: "2025-05-13", upstream: Upstream(kind: .openai, url: "http://127.0.0.1:\(ports[1])/v1")),
            ])
            try await TestServer.run(routes: [route]) { server in
                let client = server.client()
                let plan: JSONValue = ["strategy": "ab", "variants": ["a", "b"], "capture": 10, "sample": 100, "duration": "1h"]
                _ = try await client.startRollout(route: "summarize", plan: plan)
                for index in 0..<12 {
                    var request = HTTPClientRequest(url: server.gatewayURL + "/v1/chat/completions")
                    request.method = .POST
                    request.headers.add(name: "content-type", value: "application/json")
                    request.body = .bytes(ByteBuffer(string: #"{"model":"summarize","user":"u\#(index)","messages":[{"role":"user","content":"text \#(index)"}]}"#))
                    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 20)
                }
                var samples: [ShadowSample] = []
                for _ in 0..<200 {
                    samples = try await client.samples(route: "summarize").body.samples
                    if samples.count == 10 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(samples.count == 10, "the newest ten of twelve")
                #expect(samples.allSatisfy { Set([$0.primaryDeployment, $0.shadowDeployment]) == ["a", "b"] }, "each pair is both variants")
                #expect(Set(samples.map(\.primaryDeployment)) == ["a", "b"], "whichever variant answered, the other is asked")
                #expect(samples.allSatisfy { $0.shadowError == nil && $0.similarity < 1 })
            }
            group.cancelAll()
        }
    }
}
